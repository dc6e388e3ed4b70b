"""The README's "Use the API" examples work: each `curl` line of that section is run, in order,
against the app (live_server), with a real token and real ids for its variables, and must
answer 2xx. The lines are read with shlex as a shell would, and sent with `requests` (curl
itself need not be installed); an option this reader does not know fails the test, so the
README cannot drift into examples nobody runs."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from dayflow.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Use the API"
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def readme_examples() -> list[str]:
    """The curl command lines of the section, continuation lines joined."""
    text = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("curl ")]


@dataclass
class Request:
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None


def as_request(command: str, variables: dict[str, str]) -> Request:
    """The request a curl command line makes, its `$VARIABLES` filled in."""

    def fill(word: str) -> str:
        return VARIABLE.sub(lambda m: variables[m.group(1) or m.group(2)], word)

    words = [fill(word) for word in shlex.split(command)[1:]]
    request = Request()
    while words:
        word = words.pop(0)
        if word in {"-s", "-f", "-sf", "-fs", "--silent", "--fail"}:
            continue
        if word in {"-X", "--request"}:
            request.method = words.pop(0)
        elif word in {"-H", "--header"}:
            name, _, value = words.pop(0).partition(":")
            request.headers[name.strip()] = value.strip()
        elif word in {"-d", "--data"}:
            request.data = words.pop(0)
            request.method = request.method if request.method != "GET" else "POST"
        elif not word.startswith("-") and not request.url:
            request.url = word
        else:
            raise AssertionError(f"the README's curl uses {word!r}, which this test cannot run")
    return request


def test_the_readme_has_the_examples_the_issue_asks_for():
    paths = " ".join(readme_examples())

    for route in ["/api/integrations", "/api/integrations/sync", "/api/jobs/", "/api/tasks"]:
        assert f"$DAYFLOW{route}" in paths, route


@pytest.fixture
def jobs_not_run(monkeypatch):
    """A started sync is queued, not run: the Celery message is dropped."""
    from sync import tasks

    monkeypatch.setattr(tasks.run_job, "apply_async", lambda *args, **kwargs: None)


def test_the_readme_examples_answer_2xx(live_server, user, connection, jobs_not_run):
    _, token = ApiToken.objects.create(user=user, expiry=None, name="README")
    variables = {"DAYFLOW": live_server.url, "TOKEN": token, "CONNECTION": str(connection.pk)}
    failures = []

    for command in readme_examples():
        request = as_request(command, {**variables, "JOB": variables.get("JOB", "0")})
        response = requests.request(
            request.method, request.url, headers=request.headers, data=request.data, timeout=30
        )
        if not response.ok:
            said = " ".join(response.text.split())[:300]
            failures.append(f"{response.status_code} from: {' '.join(command.split())}\n  {said}")
        elif request.url.endswith("/api/integrations/sync"):
            variables["JOB"] = str(response.json()["id"])  # the next example reads this job

    assert failures == [], "README examples that do not work:\n" + "\n".join(failures)
