"""The sandbox console: a signed-in person acts as a service and adds, edits and deletes their
own sandbox account's items there. Each change goes through the emulator's own change function
(`desks`), so the change feed moves and the service's webhook is sent as after an API call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from integrations.sandbox import caldav_desk
from integrations.sandbox.desks import DESKS, Change, Desk
from integrations.sandbox.gate import sandbox_view
from integrations.sandbox.models import Account, Item

TITLE_MAX = 200
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
LONGEST_EVENT = dt.timedelta(days=31)
WALL_TIME = "%Y-%m-%dT%H:%M"


# --- forms --------------------------------------------------------------------------------
def _in_range(day: dt.date | None) -> None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise forms.ValidationError(f"Choose a date between {EARLIEST.year} and {LATEST.year}.")


class ItemForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX, strip=True)

    def __init__(self, *args: Any, containers: list[tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        if containers is not None:  # adding: where the new item goes
            self.fields["container"] = forms.ChoiceField(choices=containers)


class TaskForm(ItemForm):
    done = forms.BooleanField(required=False)
    due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    def clean_due(self) -> dt.date | None:
        _in_range(self.cleaned_data["due"])
        return self.cleaned_data["due"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("due_time") and not data.get("due"):
            self.add_error("due_time", "A due time needs a due date.")
        return data

    def change(self) -> Change:
        data = self.cleaned_data
        return Change(data["title"], data["done"], data["due"], data.get("due_time"))


class EventForm(ItemForm):
    all_day = forms.BooleanField(required=False)
    start = forms.DateTimeField(
        input_formats=[WALL_TIME],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WALL_TIME),
    )
    end = forms.DateTimeField(
        input_formats=[WALL_TIME],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WALL_TIME),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        for name, moment in (("start", start), ("end", end)):
            try:
                _in_range(moment.date())
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        if end < start or (end == start and not data.get("all_day")):
            self.add_error("end", "The end must come after the start.")
        elif end - start > LONGEST_EVENT:
            self.add_error("end", "An event here lasts 31 days at most.")
        return data

    def change(self) -> Change:
        # A wall time: the form's fields are naive in the item's own zone.
        start, end = (self.cleaned_data[n].replace(tzinfo=None) for n in ("start", "end"))
        return Change(
            self.cleaned_data["title"], all_day=self.cleaned_data["all_day"], start=start, end=end
        )


def form_for(desk: Desk, *args: Any, **kw: Any) -> ItemForm:
    form = (EventForm if desk.events else TaskForm)(*args, **kw)
    if not desk.events and not desk.due_times:
        del form.fields["due_time"]
    return form


def posted(request: HttpRequest) -> Any:
    """The form's data on a POST, even an empty one (then it is invalid, never unbound)."""
    return request.POST if request.method == "POST" else None


def initial(change: Change) -> dict[str, Any]:
    return {k: v for k, v in vars(change).items() if v is not None}


# --- who sees what --------------------------------------------------------------------------
def desk_of(service: str) -> Desk:
    if service not in DESKS:
        raise Http404("no such service in the sandbox")
    return DESKS[service]


def account_of(request: HttpRequest, desk: Desk, account_id: int) -> Account:
    """Only the signed-in person's own accounts: anyone else's is as if it did not exist."""
    return get_object_or_404(Account, pk=account_id, service=desk.key, user=request.user)


def item_of(desk: Desk, account: Account, item_id: int) -> Item:
    item = desk.item(account, item_id)
    if item is None:
        raise Http404(f"no such {desk.item_word}")
    return item


def console_view(view: Any) -> Any:
    """Gated like every sandbox URL (404 when off), then for signed-in people only."""
    return sandbox_view(login_required(view))


# --- pages --------------------------------------------------------------------------------
@console_view
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    accounts = Account.objects.filter(user=request.user).order_by("login")
    services = [(desk, [a for a in accounts if a.service == desk.key]) for desk in DESKS.values()]
    context = {"services": services, "caldav": bool(caldav_desk.server())}
    return render(request, "sandbox/console/index.html", context)


@console_view
@require_http_methods(["GET", "POST"])
def account_page(request: HttpRequest, service: str, account_id: int) -> HttpResponse:
    """The account's items by container, and a form that adds one (POST)."""
    desk = desk_of(service)
    account = account_of(request, desk, account_id)
    containers = desk.containers(account)
    form = form_for(desk, posted(request), containers=containers)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            container = desk.container(account, form.cleaned_data["container"])
            desk.add(account, container, form.change())
        messages.success(request, sent(desk, "added"))
        return redirect("sandbox:console-account", service=service, account_id=account.pk)
    groups = [(name, desk.items(account, remote_id)) for remote_id, name in containers]
    context = {"desk": desk, "account": account, "groups": groups, "form": form}
    return render(
        request, "sandbox/console/account.html", context, status=400 if form.errors else 200
    )


@console_view
@require_http_methods(["GET", "POST"])
def item_page(request: HttpRequest, service: str, account_id: int, item_id: int) -> HttpResponse:
    """One item's edit form; POST saves it at the service."""
    desk = desk_of(service)
    account = account_of(request, desk, account_id)
    item = item_of(desk, account, item_id)
    form = form_for(desk, posted(request), initial=initial(desk.read(item)))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            desk.edit(item, form.change())
        messages.success(request, sent(desk, "saved"))
        return redirect("sandbox:console-account", service=service, account_id=account.pk)
    context = {"desk": desk, "account": account, "item": item, "form": form}
    return render(request, "sandbox/console/item.html", context, status=400 if form.errors else 200)


@console_view
@require_POST
def item_delete(request: HttpRequest, service: str, account_id: int, item_id: int) -> HttpResponse:
    desk = desk_of(service)
    account = account_of(request, desk, account_id)
    item = item_of(desk, account, item_id)
    with transaction.atomic():
        desk.delete(item)
    messages.success(request, sent(desk, "deleted"))
    return redirect("sandbox:console-account", service=service, account_id=account.pk)


# --- the CalDAV server (Apple Calendar, Fastmail) ---------------------------------------------
@dataclasses.dataclass(frozen=True)
class CalDAVDesk:
    """What the console's templates read of a desk."""

    name: str = "the sandbox CalDAV server"
    events: bool = True
    item_word: str = "event"
    container_word: str = "calendar"


CALDAV = CalDAVDesk()
CALDAV_SENT = (
    "The event is {done} at the sandbox CalDAV server. CalDAV servers send no webhooks: "
    "Apple Calendar and Fastmail connections see it at their next scheduled sync."
)


def caldav_on() -> None:
    if not caldav_desk.server():
        raise Http404("no sandbox CalDAV server runs")


def caldav_event(request: HttpRequest, name: str) -> caldav_desk.Event:
    try:
        return caldav_desk.event(request.user.get_username(), name[:200])
    except caldav_desk.CalDAVError as exc:
        raise Http404("no such event") from exc


@console_view
@require_http_methods(["GET", "POST"])
def caldav_page(request: HttpRequest) -> HttpResponse:
    """The person's sandbox calendar, and a form that adds an event (POST)."""
    caldav_on()
    username = request.user.get_username()
    form = EventForm(posted(request))
    if request.method == "POST" and form.is_valid():
        return caldav_change(request, "added", partial(caldav_desk.add, username, form.change()))
    try:
        events = caldav_desk.events(username)
    except caldav_desk.CalDAVError as exc:
        events, problem = [], str(exc)
    else:
        problem = ""
    context = {"desk": CALDAV, "events": events, "form": form, "problem": problem}
    status = 400 if form.errors else 200
    return render(request, "sandbox/console/caldav.html", context, status=status)


@console_view
@require_http_methods(["GET", "POST"])
def caldav_item(request: HttpRequest, name: str) -> HttpResponse:
    """One event's edit form; POST saves it at the server."""
    caldav_on()
    event = caldav_event(request, name)
    form = EventForm(posted(request), initial=initial(event.now))
    if request.method == "POST" and form.is_valid():
        username = request.user.get_username()
        edit = partial(
            caldav_desk.edit, username, event.name, event.etag, form.change(), event.zone
        )
        return caldav_change(request, "saved", edit)
    context = {"desk": CALDAV, "event": event, "form": form, "zone": event.zone}
    status = 400 if form.errors else 200
    return render(request, "sandbox/console/caldav_item.html", context, status=status)


@console_view
@require_POST
def caldav_delete(request: HttpRequest, name: str) -> HttpResponse:
    caldav_on()
    event = caldav_event(request, name)
    username = request.user.get_username()
    delete = partial(caldav_desk.delete, username, event.name, event.etag)
    return caldav_change(request, "deleted", delete)


def caldav_change(request: HttpRequest, done: str, change: Callable[[], Any]) -> HttpResponse:
    """Make the change at the server, and say how it went: the server may refuse it (the
    event changed there meanwhile: 412) or not answer."""
    try:
        change()
    except caldav_desk.CalDAVError as exc:
        messages.error(request, f"Nothing was changed: {exc}.")
    else:
        messages.success(request, CALDAV_SENT.format(done=done))
    return redirect("sandbox:console-caldav")


def sent(desk: Desk, done: str) -> str:
    return (
        f"The {desk.item_word} is {done} at {desk.name}. "
        f"{desk.name} now sends its webhook to every app you connected."
    )


urlpatterns = [
    path("console/", index, name="console"),
    path("caldav/console/", caldav_page, name="console-caldav"),
    path("caldav/console/<str:name>/", caldav_item, name="console-caldav-item"),
    path("caldav/console/<str:name>/delete", caldav_delete, name="console-caldav-delete"),
    path("<slug:service>/console/<int:account_id>/", account_page, name="console-account"),
    path(
        "<slug:service>/console/<int:account_id>/<int:item_id>/",
        item_page,
        name="console-item",
    ),
    path(
        "<slug:service>/console/<int:account_id>/<int:item_id>/delete",
        item_delete,
        name="console-item-delete",
    ),
]
