"""`manage.py bootstrap` (run by `run.py`): the demo login on first run, how to reset it later."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def bootstrap() -> str:
    out = StringIO()
    call_command("bootstrap", stdout=out, no_color=True)
    return out.getvalue()


def test_first_run_creates_the_demo_account_and_prints_its_login():
    match = re.search(r"Demo account created: (\S+) / (\S+)", bootstrap())

    assert match
    assert authenticate(username=match[1], password=match[2]) is not None


def test_later_runs_say_how_to_set_a_new_password():
    bootstrap()

    later = bootstrap()

    assert "Demo account created" not in later
    assert re.search(r"To set a new password: \S*python\S* manage.py changepassword demo\n", later)
