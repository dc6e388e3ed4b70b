"""One Radicale account per DayFlow user, with a seeded calendar: `manage.py sandbox_caldav`
for the users run.py starts with, and each user made while the sandbox runs."""

from __future__ import annotations

import datetime as dt
import json

import icalendar
import pytest
from django.core.management import call_command

from integrations.sandbox.caldav_accounts import events, seed

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)


def test_every_user_gets_a_calendar_once(tmp_path, user, django_user_model):
    django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-123")

    call_command("sandbox_caldav", str(tmp_path))
    (tmp_path / "collection-root" / "bob" / "sandbox" / "dentist.ics").unlink()
    call_command("sandbox_caldav", str(tmp_path))  # an existing account is left as it is

    for name in ("alice", "bob"):
        collection = tmp_path / "collection-root" / name / "sandbox"
        assert json.loads((collection / ".Radicale.props").read_text())["tag"] == "VCALENDAR"
    assert len(list((tmp_path / "collection-root" / "alice" / "sandbox").glob("*.ics"))) == 4
    assert not (tmp_path / "collection-root" / "bob" / "sandbox" / "dentist.ics").exists()


def test_the_seed_has_single_all_day_recurring_and_zoned_events():
    parsed = {name: icalendar.Calendar.from_ical(text) for name, text in events(TODAY).items()}

    weekly = parsed["weekly.ics"].walk("VEVENT")
    assert "RRULE" in weekly[0]
    assert "EXDATE" in weekly[0]
    assert "RECURRENCE-ID" in weekly[1]  # the moved occurrence
    offsite = parsed["offsite.ics"].walk("VEVENT")[0]
    assert type(offsite.decoded("DTSTART")) is dt.date
    berlin = parsed["berlin.ics"].walk("VEVENT")[0]
    assert berlin["DTSTART"].params["TZID"] == "Europe/Berlin"


def test_a_user_made_while_the_sandbox_runs_gets_an_account(tmp_path, settings, django_user_model):
    settings.DAYFLOW_SANDBOX = True
    settings.DAYFLOW_SANDBOX_CALDAV_FOLDER = str(tmp_path)
    django_user_model.objects.create_user("carol", "carol@example.com", "pw-carol-123")

    assert len(list((tmp_path / "collection-root" / "carol" / "sandbox").glob("*.ics"))) == 4


def test_no_account_is_made_when_the_sandbox_is_off(tmp_path, settings, django_user_model):
    settings.DAYFLOW_SANDBOX = False
    settings.DAYFLOW_SANDBOX_CALDAV_FOLDER = str(tmp_path)
    django_user_model.objects.create_user("carol", "carol@example.com", "pw-carol-123")

    assert not (tmp_path / "collection-root").exists()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../../etc", "x" * 151, ""])
def test_a_name_that_is_not_a_plain_path_segment_gets_no_account(tmp_path, name):
    assert seed(tmp_path / "radicale", name, TODAY) is False
    assert not (tmp_path / "radicale").exists()
