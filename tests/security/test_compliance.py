"""The compliance report: what it counts, in a constant number of queries, and how the staff
page, its CSV and `manage.py compliance_report` present it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditVerification
from audit.writer import record
from dayflow import retention
from integrations.models import Connection, Service
from privacy.models import ErasureRequest
from security import compliance
from security.models import SecurityAlert
from sync.models import SyncJob
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def at(days_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days_ago)


def alert(rule: str, severity: str, n: int, *, acknowledged: bool = False) -> SecurityAlert:
    return SecurityAlert.objects.create(
        rule=rule,
        severity=severity,
        subject_key=f"{rule}:{n}:{acknowledged}",
        first_seen=at(1),
        last_seen=at(1),
        acknowledged_at=at(0.5) if acknowledged else None,
    )


def connect(user, key: str, status: str = Connection.Status.CONNECTED) -> Connection:
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key=key),
        external_account_id=f"{user.username}-{key}",
        label=f"{user.username}@{key}",
        status=status,
    )


@pytest.fixture
def installation(django_user_model, user, other_user):
    """Two people and a staff member; connections at two services; alerts; old rows."""
    staff = django_user_model.objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
    other_user.is_active = False
    other_user.save()
    ErasureRequest.objects.create(user=other_user, status=ErasureRequest.Status.WAITING)
    ErasureRequest.objects.create(user=None, status=ErasureRequest.Status.DONE)
    connect(user, "todoist")
    connect(staff, "todoist")
    connect(user, "notion", Connection.Status.NEEDS_REAUTH)
    alert("signature_failures", "high", 1)
    alert("signature_failures", "high", 2)
    alert("login_failures", "medium", 1)
    alert("login_failures", "medium", 2, acknowledged=True)
    todoist = Service.objects.get(key="todoist")
    for n, days_ago in enumerate((40, 31, 2)):
        with time_machine.travel(at(days_ago), tick=False):
            Delivery.objects.create(service=todoist, delivery_id=f"d{n}")
    with time_machine.travel(at(400), tick=False):
        SecurityAlert.objects.create(
            rule="old",
            severity="low",
            subject_key="old",
            first_seen=at(400),
            last_seen=at(400),
            acknowledged_at=at(399),
        )
    return staff


def by_policy(report: compliance.Report) -> dict[str, compliance.RetentionStatus]:
    return {row.policy: row for row in report.retention}


def test_the_report_counts_people_connections_alerts_and_what_retention_removes(installation):
    with time_machine.travel(NOW, tick=False):
        report = compliance.build()

    assert report.users == compliance.Users(
        total=3, active=2, staff=1, erasures_pending=1, erasures_done=1
    )
    assert [(c.service, c.status, c.count) for c in report.connections] == [
        ("Notion", "Needs reconnecting", 1),
        ("Todoist", "Connected", 2),
    ]
    assert [(a.rule, a.severity, a.count) for a in report.open_alerts] == [
        ("signature_failures", "high", 2),
        ("login_failures", "medium", 1),
    ]
    assert report.unacknowledged == 3
    policies = by_policy(report)
    assert list(policies) == ["inbox", "journal", "jobs", "audit", "alerts"]
    assert (policies["inbox"].days, policies["inbox"].past_limit) == (30, 2)
    assert policies["inbox"].oldest == at(40)
    assert policies["audit"].days == 365
    assert (policies["alerts"].days, policies["alerts"].past_limit) == (365, 1)
    assert (policies["journal"].oldest, policies["journal"].past_limit) == (None, 0)
    assert report.verification is None


def test_finished_jobs_are_due_by_their_end_and_running_ones_never(connection):
    with time_machine.travel(at(200), tick=False):
        SyncJob.objects.create(connection=connection, status=SyncJob.Status.SUCCEEDED)
        SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
    with time_machine.travel(at(5), tick=False):
        SyncJob.objects.create(
            connection=connection, status=SyncJob.Status.FAILED, finished_at=at(5)
        )

    with time_machine.travel(NOW, tick=False):
        jobs = by_policy(compliance.build())["jobs"]

    assert (jobs.days, jobs.oldest, jobs.past_limit) == (180, at(200), 1)


def test_audit_events_due_are_the_chain_s_prefix_before_its_first_young_event(db):
    for days_ago in (400, 380, 10, 500):  # the last is older, but after a young one
        with time_machine.travel(at(days_ago), tick=False):
            record("test.event", resource=f"{days_ago} days ago")

    with time_machine.travel(NOW, tick=False):
        audit = by_policy(compliance.build())["audit"]

    assert (audit.oldest, audit.past_limit) == (at(500), 2)
    with time_machine.travel(NOW, tick=False):
        assert retention.retain_audit() == 2  # what the next run removes, as said


def test_the_report_shows_the_last_audit_verification(db):
    AuditVerification.objects.create(checked_at=at(3), ok=True, rows_checked=10)
    AuditVerification.objects.create(
        checked_at=at(1), ok=False, rows_checked=7, first_bad_id=42, problem="content changed"
    )

    verification = compliance.build().verification

    assert verification == compliance.Verification(
        checked_at=at(1), ok=False, rows_checked=7, first_bad_id=42, problem="content changed"
    )
    rows = list(compliance.rows(compliance.build()))
    assert ("audit verification", "last", "result", "broken") in rows
    assert ("audit verification", "last", "first bad id", "42") in rows


def test_a_verification_that_never_ran_says_never(db):
    rows = list(compliance.rows(compliance.build()))

    assert ("audit verification", "last", "checked at", "never") in rows


QUERIES = 16


def test_the_report_takes_a_constant_number_of_queries(
    installation, django_user_model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(QUERIES):
        compliance.build()

    for n in range(12):
        person = django_user_model.objects.create_user(f"p{n}", f"p{n}@example.com", "pw")
        connect(person, ("todoist", "notion", "google-calendar")[n % 3])
        alert(f"rule_{n}", ("low", "critical")[n % 2], n)
        ErasureRequest.objects.create(user=person)

    with django_assert_max_num_queries(QUERIES):
        report = compliance.build()
    assert report.users.total == 15
    assert report.unacknowledged == 15


def test_the_csv_has_every_row_and_defuses_formulas(installation):
    alert("=HYPERLINK(evil)", "low", 1)
    with time_machine.travel(NOW, tick=False):
        text = compliance.as_csv(compliance.build())

    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["section", "subject", "measure", "value"]
    assert ["users", "", "total", "3"] in table
    assert ["connections", "Todoist", "Connected", "2"] in table
    assert ["open alerts", "", "unacknowledged", "4"] in table
    assert ["open alerts", "'=HYPERLINK(evil)", "low", "1"] in table
    assert ["retention", "inbox", "past the limit", "2"] in table
    assert ["retention", "inbox", "oldest kept", "2026-04-22 12:00:00 UTC"] in table


# --- the page -------------------------------------------------------------------------------
URL = "/admin/compliance/"


def test_the_page_is_at_the_admin_s_address_and_linked_from_its_index(installation, client):
    client.force_login(installation)

    assert reverse("security:compliance") == URL
    index = client.get(reverse("admin:index"))
    assert f'href="{URL}"' in index.content.decode()
    page = client.get(URL)

    assert page.status_code == 200
    body = page.content.decode()
    for words in ("Compliance report", "Needs reconnecting", "signature_failures", "Never"):
        assert words in body
    assert 'href="?format=csv"' in body


def test_the_page_is_for_staff_only(user, client):
    assert client.get(URL).status_code == 302
    client.force_login(user)

    answer = client.get(URL)

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("admin:login"))


def test_the_page_downloads_the_csv(installation, client):
    client.force_login(installation)

    answer = client.get(URL, {"format": "csv"})

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="compliance-')
    assert answer.content.decode().startswith("section,subject,measure,value\n")


@pytest.mark.parametrize("wanted", ["xml", "", "csv" * 100])
def test_an_unknown_format_is_refused(installation, client, wanted):
    client.force_login(installation)

    assert client.get(URL, {"format": wanted}).status_code == 400


def test_the_page_takes_a_constant_number_of_queries(
    installation, client, django_user_model, django_assert_max_num_queries
):
    client.force_login(installation)
    client.get(URL)  # warm: the session's user, the content types
    for n in range(10):
        connect(django_user_model.objects.create_user(f"p{n}", "", "pw"), "notion")
        alert(f"rule_{n}", "low", n)

    with django_assert_max_num_queries(QUERIES + 6):
        assert client.get(URL).status_code == 200


# --- the command ----------------------------------------------------------------------------
def test_the_command_prints_the_report_as_text(installation):
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("compliance_report", stdout=out)

    text = out.getvalue()
    assert "Users\n  total: 3\n  active: 2\n  staff: 1\n" in text
    assert "  Todoist: Connected: 2\n" in text
    assert "  inbox: past the limit: 2\n" in text
    assert "Audit verification\n  last: checked at: never\n" in text


def test_the_command_writes_the_csv_to_a_file(installation, tmp_path):
    target = tmp_path / "report.csv"
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("compliance_report", "--format", "csv", "--output", str(target), stdout=out)
        expected = compliance.as_csv(compliance.build())

    assert out.getvalue() == f"compliance report written to {target}\n"
    assert target.read_text() == expected


def test_the_command_says_when_it_cannot_write(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot write"):
        call_command("compliance_report", "--output", str(tmp_path / "missing" / "r.csv"))
