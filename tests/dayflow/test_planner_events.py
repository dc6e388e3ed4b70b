"""Events in the planner's pages: timed or all-day, a simple recurrence, one date of a series
changed (an exception) or skipped (an EXDATE) in the shapes the calendar providers write."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from dayflow.models import Event, Profile
from integrations.providers import events as provider_events

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TIMED = {
    "title": "Standup",
    "start_day": "2026-03-23",
    "start_time": "09:00",
    "end_day": "2026-03-23",
    "end_time": "09:30",
    "timezone": "Europe/Berlin",
    "location": "Room 1",
    "description": "",
    "repeat": "",
    "ends": "never",
}
ALL_DAY = {**TIMED, "all_day": "on", "start_time": "", "end_time": "", "end_day": ""}


@pytest.fixture
def berlin_user(user):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    return user


@pytest.fixture
def weekly(user):
    """A weekly Monday 09:00 Berlin series, as the providers hold one."""
    return Event.objects.create(
        user=user,
        title="Weekly",
        start=dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 23, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )


# --- making and changing events ------------------------------------------------------
def test_a_timed_event_is_made_in_its_own_zone(signed_in, user):
    signed_in.post("/events/new/", TIMED)

    event = Event.objects.get(user=user)
    assert (event.start, event.end, event.timezone, event.all_day, event.rrule) == (
        dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        dt.datetime(2026, 3, 23, 9, 30, tzinfo=BERLIN),
        "Europe/Berlin",
        False,
        "",
    )


def test_an_event_in_another_zone_shows_the_persons_time_and_its_own(signed_in, user):
    signed_in.post("/events/new/", TIMED)

    body = signed_in.get("/events/").content.decode()

    assert "Times in UTC" in body
    assert "Mon 23 Mar 2026, 08:00–08:30 (09:00–09:30 Europe/Berlin)" in body


def test_the_persons_own_zone_shows_no_second_time(signed_in, berlin_user):
    signed_in.post("/events/new/", TIMED)

    body = signed_in.get("/events/").content.decode()

    assert "Times in Europe/Berlin" in body
    assert "Mon 23 Mar 2026, 09:00–09:30</span>" in body


def test_a_one_day_all_day_event_shows_one_date_and_keeps_its_end_exclusive(signed_in, user):
    signed_in.post("/events/new/", {**ALL_DAY, "start_day": "2026-12-05"})

    event = Event.objects.get(user=user)
    body = signed_in.get("/events/").content.decode()
    assert (event.start_date, event.end_date, event.start, event.timezone) == (
        dt.date(2026, 12, 5),
        dt.date(2026, 12, 6),
        None,
        "",
    )
    assert "Sat 5 Dec 2026 (all day)" in body
    assert "6 Dec" not in body


def test_an_all_day_range_shows_its_inclusive_last_day(signed_in, user):
    signed_in.post("/events/new/", {**ALL_DAY, "start_day": "2026-12-05", "end_day": "2026-12-07"})

    event = Event.objects.get(user=user)
    assert event.end_date == dt.date(2026, 12, 8)
    assert "Sat 5 Dec 2026 – Mon 7 Dec 2026 (all day)" in signed_in.get("/events/").content.decode()


def test_a_weekly_series_is_made_and_shown_in_words(signed_in, user):
    signed_in.post(
        "/events/new/",
        {
            **TIMED,
            "repeat": "WEEKLY",
            "weekdays": ["0", "2"],
            "ends": "until",
            "until": "2027-01-31",
        },
    )

    event = Event.objects.get(user=user)
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270131T225959Z;BYDAY=MO,WE"
    assert "Every week on Mon, Wed until Jan 31, 2027" in signed_in.get("/events/").content.decode()


def test_the_edit_form_reads_the_series_back(signed_in, weekly):
    form = signed_in.get(f"/events/{weekly.pk}/edit/").context["form"]

    assert form.initial["repeat"] == "WEEKLY"
    assert form.initial["weekdays"] == ["0"]
    assert form.initial["ends"] == "never"
    assert form.initial["start_time"] == dt.time(9)


def test_a_rule_the_form_cannot_show_is_kept_as_it_is(signed_in, weekly):
    weekly.rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
    weekly.save()
    form = signed_in.get(f"/events/{weekly.pk}/edit/").context["form"]
    data = {**TIMED, "start_time": "09:00", "end_time": "10:00", "repeat": form.initial["repeat"]}

    signed_in.post(f"/events/{weekly.pk}/edit/", {**data, "title": "Renamed"})

    weekly.refresh_from_db()
    assert (weekly.title, weekly.rrule) == ("Renamed", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")


def test_a_floating_event_from_a_service_stays_floating(signed_in, user):
    event = Event.objects.create(
        user=user,
        title="Floating",
        start=dt.datetime(2026, 3, 27, 7, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 27, 8, tzinfo=dt.UTC),
    )
    data = {**TIMED, "timezone": "", "start_day": "2026-03-27", "start_time": "07:30"}

    signed_in.post(f"/events/{event.pk}/edit/", {**data, "end_day": "", "end_time": "08:00"})

    event.refresh_from_db()
    assert event.timezone == ""
    assert event.start == dt.datetime(2026, 3, 27, 7, 30, tzinfo=dt.UTC)
    assert "07:30–08:00 (floating time)" in signed_in.get("/events/").content.decode()


BAD_EVENTS = [
    ("no title", {"title": ""}, "title"),
    ("title too long", {"title": "x" * 501}, "title"),
    ("location too long", {"location": "x" * 501}, "location"),
    ("description too long", {"description": "x" * 10_001}, "description"),
    ("unknown zone", {"timezone": "Mars/Olympus"}, "timezone"),
    ("zone as a path", {"timezone": "../../etc/passwd"}, "timezone"),
    ("no start day", {"start_day": ""}, "start_day"),
    ("start before 1900", {"start_day": "1899-12-31"}, "start_day"),
    ("start after 2200", {"start_day": "2201-01-01", "end_day": ""}, "start_day"),
    ("no start time", {"start_time": ""}, "start_time"),
    ("no end time", {"end_time": ""}, "end_time"),
    ("end before start", {"end_time": "08:00"}, "end_time"),
    ("end day before start", {"end_day": "2026-03-22"}, "end_time"),
    ("time not a time", {"start_time": "9 o'clock"}, "start_time"),
    ("all-day last day first", {**ALL_DAY, "end_day": "2026-03-01"}, "end_day"),
    ("repeat not a choice", {"repeat": "HOURLY"}, "repeat"),
    ("keep without a rule", {"repeat": "KEEP"}, "repeat"),
    ("weekday not a choice", {"repeat": "WEEKLY", "weekdays": ["7"]}, "weekdays"),
    ("until missing", {"repeat": "DAILY", "ends": "until"}, "until"),
    ("until before start", {"repeat": "DAILY", "ends": "until", "until": "2026-01-01"}, "until"),
    ("until after 2200", {"repeat": "DAILY", "ends": "until", "until": "2201-01-01"}, "until"),
    ("count missing", {"repeat": "DAILY", "ends": "count"}, "count"),
    ("count zero", {"repeat": "DAILY", "ends": "count", "count": "0"}, "count"),
    ("count huge", {"repeat": "DAILY", "ends": "count", "count": "10" * 20}, "count"),
    ("ends not a choice", {"repeat": "DAILY", "ends": "sometime"}, "ends"),
]


@pytest.mark.parametrize(("name", "change", "field"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_a_bad_event_is_a_form_error(signed_in, user, name, change, field):
    response = signed_in.post("/events/new/", {**TIMED, **change})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Event.objects.filter(user=user).exists()


# --- one date of a series ------------------------------------------------------------------
def test_changing_one_date_makes_an_exception_shaped_as_the_providers_make_them(
    signed_in, user, weekly
):
    at = "2026-03-30T09:00:00+02:00"
    page = signed_in.get(f"/events/{weekly.pk}/occurrence/", {"at": at})
    assert page.context["form"].initial["start_day"] == dt.date(2026, 3, 30)

    signed_in.post(
        f"/events/{weekly.pk}/occurrence/",
        {**TIMED, "at": at, "title": "Moved", "start_day": "2026-03-31", "end_day": "2026-03-31"},
    )

    exception = Event.objects.get(series=weekly)
    original = dt.datetime(2026, 3, 30, 9, tzinfo=BERLIN)
    assert exception.recurrence_id == provider_events.iso(original, "Europe/Berlin") == at
    assert (exception.title, exception.rrule, exception.exdates) == ("Moved", "", [])
    assert exception.start == dt.datetime(2026, 3, 31, 9, tzinfo=BERLIN)
    weekly.refresh_from_db()
    assert weekly.version == 1  # the master itself is not changed


def test_skipping_one_date_adds_an_exdate_shaped_as_the_providers_write_them(signed_in, weekly):
    at = "2026-04-06T09:00:00+02:00"
    assert (
        "Skip one date?"
        in signed_in.get(f"/events/{weekly.pk}/occurrence/skip/", {"at": at}).content.decode()
    )

    signed_in.post(f"/events/{weekly.pk}/occurrence/skip/", {"at": at})

    weekly.refresh_from_db()
    original = dt.datetime(2026, 4, 6, 9, tzinfo=BERLIN)
    assert weekly.exdates == provider_events.exdate_isos([original], "Europe/Berlin") == [at]
    assert weekly.version == 2


def test_a_date_named_in_another_offset_is_the_same_date(signed_in, weekly):
    signed_in.post(f"/events/{weekly.pk}/occurrence/skip/", {"at": "2026-04-06T07:00:00+00:00"})

    weekly.refresh_from_db()
    assert weekly.exdates == ["2026-04-06T09:00:00+02:00"]


def test_skipping_an_all_day_date_writes_a_date(signed_in, user):
    series = Event.objects.create(
        user=user,
        title="Bins",
        all_day=True,
        start_date=dt.date(2026, 1, 31),
        end_date=dt.date(2026, 2, 1),
        rrule="FREQ=MONTHLY;BYMONTHDAY=31",
    )

    signed_in.post(f"/events/{series.pk}/occurrence/skip/", {"at": "2026-03-31"})

    series.refresh_from_db()
    assert series.exdates == ["2026-03-31"]


def test_deleting_an_exception_skips_its_date_too(signed_in, user, weekly):
    exception = Event.objects.create(
        user=user,
        title="Moved",
        series=weekly,
        recurrence_id="2026-03-30T09:00:00+02:00",
        start=dt.datetime(2026, 3, 31, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )

    signed_in.post(f"/events/{exception.pk}/delete/")

    weekly.refresh_from_db()
    assert Event.all_objects.get(pk=exception.pk).is_deleted
    assert weekly.exdates == ["2026-03-30T09:00:00+02:00"]


def test_deleting_a_series_deletes_its_exceptions(signed_in, user, weekly):
    exception = Event.objects.create(
        user=user, title="Moved", series=weekly, recurrence_id="2026-03-30T09:00:00+02:00"
    )

    signed_in.post(f"/events/{weekly.pk}/delete/")

    assert not Event.objects.filter(pk__in=[weekly.pk, exception.pk]).exists()


@pytest.mark.parametrize(
    "at",
    [
        "2026-03-31T09:00:00+02:00",  # a Tuesday: not a date of the series
        "2026-03-30T10:00:00+02:00",  # the right day, the wrong time
        "2026-03-16T09:00:00+01:00",  # before the series starts
        "2026-03-30T09:00:00",  # floating, for a zoned series
        "2026-03-30",  # a date, for a timed series
        "yesterday",
        "9" * 100,
        "",
    ],
)
def test_a_date_that_is_not_in_the_series_is_not_found(signed_in, weekly, at):
    assert signed_in.get(f"/events/{weekly.pk}/occurrence/", {"at": at}).status_code == 404
    assert signed_in.post(f"/events/{weekly.pk}/occurrence/skip/", {"at": at}).status_code == 404


def test_a_date_skipped_or_changed_already_is_not_found(signed_in, user, weekly):
    weekly.exdates = ["2026-04-06T09:00:00+02:00"]
    weekly.save()
    Event.objects.create(
        user=user, title="Moved", series=weekly, recurrence_id="2026-03-30T09:00:00+02:00"
    )

    for at in [*weekly.exdates, "2026-03-30T09:00:00+02:00"]:
        assert signed_in.get(f"/events/{weekly.pk}/occurrence/", {"at": at}).status_code == 404


def test_a_single_event_has_no_dates_to_change(signed_in, user):
    single = Event.objects.create(
        user=user, title="Once", start=dt.datetime(2026, 3, 23, 9, tzinfo=dt.UTC)
    )

    at = "2026-03-23T09:00:00+00:00"
    assert signed_in.get(f"/events/{single.pk}/occurrence/", {"at": at}).status_code == 404


def test_the_series_page_lists_its_next_dates_skipped_and_changed(signed_in, user, weekly):
    weekly.exdates = ["2026-04-06T09:00:00+02:00"]
    weekly.save()
    Event.objects.create(
        user=user,
        title="Moved",
        series=weekly,
        recurrence_id="2026-03-30T09:00:00+02:00",
        start=dt.datetime(2026, 3, 31, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )

    with time_machine.travel(dt.datetime(2026, 3, 24, tzinfo=dt.UTC), tick=False):
        body = signed_in.get(f"/events/{weekly.pk}/").content.decode()

    assert "Every week on Mon" in body
    assert "skipped: Mon 6 Apr 2026, 07:00" in body
    assert "Changed: “Moved”" in body
    assert "Tue 31 Mar 2026, 07:00" in body
    assert "Mon 13 Apr 2026, 07:00" in body
    assert "Mon 6 Apr 2026, 07:00–08:00" not in body


# --- ownership -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "methods"),
    [
        ("event-detail", ["get"]),
        ("event-edit", ["get", "post"]),
        ("event-delete", ["get", "post"]),
        ("occurrence-edit", ["get", "post"]),
        ("occurrence-skip", ["get", "post"]),
    ],
)
def test_another_persons_event_is_not_found(client, other_user, weekly, name, methods):
    client.force_login(other_user)
    data = {**TIMED, "at": "2026-03-30T09:00:00+02:00"}

    for method in methods:
        response = getattr(client, method)(reverse(name, args=[weekly.pk]), data)
        assert response.status_code == 404, (name, method)

    weekly.refresh_from_db()
    assert (weekly.version, weekly.exdates, weekly.is_deleted) == (1, [], False)
    assert not Event.objects.filter(series=weekly).exists()


# --- today -------------------------------------------------------------------------------
def test_today_shows_todays_events_in_time_order_with_series_dates(signed_in, berlin_user):
    user = berlin_user
    Event.objects.create(
        user=user,
        title="Lunch",
        start=dt.datetime(2026, 3, 30, 12, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 30, 13, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    Event.objects.create(
        user=user,
        title="Holiday",
        all_day=True,
        start_date=dt.date(2026, 3, 30),
        end_date=dt.date(2026, 3, 31),
    )
    Event.objects.create(
        user=user,
        title="Call New York",
        start=dt.datetime(2026, 3, 30, 8, tzinfo=NEW_YORK),  # 14:00 in Berlin
        end=dt.datetime(2026, 3, 30, 9, tzinfo=NEW_YORK),
        timezone="America/New_York",
    )
    Event.objects.create(
        user=user,
        title="Tomorrow",
        start=dt.datetime(2026, 3, 31, 0, 30, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 31, 1, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    Event.objects.create(
        user=user,
        title="Standup",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 2, 9, 15, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )

    with time_machine.travel(dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC), tick=False):
        response = signed_in.get("/")

    titles = [o.event.title for o in response.context["todays_events"]]
    assert titles == ["Holiday", "Standup", "Lunch", "Call New York"]
    body = response.content.decode()
    assert "09:00–09:15" in body
    assert "All day" in body
    assert "14:00–15:00 (08:00–09:00 America/New_York)" in body


def test_today_shows_a_changed_date_instead_of_the_series_one(signed_in, berlin_user, weekly):
    Event.objects.create(
        user=berlin_user,
        title="Moved later",
        series=weekly,
        recurrence_id="2026-03-30T09:00:00+02:00",
        start=dt.datetime(2026, 3, 30, 15, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 30, 16, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )

    with time_machine.travel(dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC), tick=False):
        response = signed_in.get("/")

    assert [o.event.title for o in response.context["todays_events"]] == ["Moved later"]


def test_today_shows_tasks_due_or_overdue_then_the_other_open_ones(signed_in, berlin_user):
    from dayflow.models import Task

    user = berlin_user
    Task.objects.create(user=user, title="Someday")
    Task.objects.create(user=user, title="Next week", due_date=dt.date(2026, 4, 6))
    Task.objects.create(user=user, title="Overdue", due_date=dt.date(2026, 3, 20))
    Task.objects.create(
        user=user, title="Tonight", due_at=dt.datetime(2026, 3, 30, 21, tzinfo=BERLIN)
    )
    Task.objects.create(user=user, title="Today urgent", due_date=dt.date(2026, 3, 30), priority=4)
    Task.objects.create(user=user, title="Done", due_date=dt.date(2026, 3, 1), status="done")

    with time_machine.travel(dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC), tick=False):
        response = signed_in.get("/")

    due = [t.title for t in response.context["due_tasks"]]
    other = [t.title for t in response.context["open_tasks"]]
    assert due == ["Overdue", "Today urgent", "Tonight"]
    assert other == ["Next week", "Someday"]
