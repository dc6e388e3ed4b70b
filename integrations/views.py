"""The connection pages: the service list, connect flows (OAuth and CalDAV), reconnect,
pause/resume, settings and disconnect. Plain function views; every action is audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.writer import record
from integrations import dashboard, lifecycle, service_urls
from integrations.actions import ActionRefused
from integrations.catalog import enabled_services
from integrations.forms import (
    CalDAVConnectForm,
    ConnectionSettingsForm,
    DisconnectForm,
    listed_containers,
)
from integrations.models import Connection, Service
from integrations.oauth import flow, handoff
from integrations.oauth.backends import BACKENDS
from integrations.providers.base import AuthStyle
from integrations.rules_form import RulesForm
from sync import rules_preview

INDEX = "integrations:index"


def _service(key: str) -> Service:
    return get_object_or_404(enabled_services(), key=key)


def _connection(request: HttpRequest, pk: int) -> Connection:
    return get_object_or_404(
        Connection.objects.for_user(request.user).select_related("service"), pk=pk
    )


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    connections = Connection.objects.for_user(request.user).order_by(
        "service__display_name", "label", "pk"
    )
    cards = dashboard.cards(connections)
    connected = {card.connection.service.key for card in cards}
    # The services not connected yet first; each is read once.
    services = sorted(enabled_services(), key=lambda service: service.key in connected)
    context = {
        "cards": cards,
        "connected": connected,
        "services": services,
        "sandboxed": _sandboxed(services),
        "poll_seconds": dashboard.POLL_SECONDS,
    }
    return render(request, "integrations/index.html", context)


@login_required
@require_GET
def card(request: HttpRequest, pk: int) -> HttpResponse:
    """One connection's card: what the dashboard's cards ask for every few seconds while a
    job of theirs is queued or running."""
    return render_card(request, pk)


def render_card(request: HttpRequest, pk: int, note: str = "", problem: bool = False):
    """The card of the user's connection `pk` (404 if it is not theirs), with a line saying
    what the action that led here did."""
    found = dashboard.card(Connection.objects.for_user(request.user), pk)
    if found is None:
        raise Http404("no such connection")
    context = {
        "card": found,
        "note": note,
        "problem": problem,
        "poll_seconds": dashboard.POLL_SECONDS,
    }
    return render(request, "integrations/_card.html", context)


def is_htmx(request: HttpRequest) -> bool:
    """A request htmx made from a card: it answers with the card, not a redirect."""
    return request.headers.get("HX-Request") == "true"


def _sandboxed(services: Iterable[Service]) -> set[str]:
    """The services reached at an emulator on this machine: their buttons say so."""
    return {service.key for service in services if service_urls.sandboxed(service.key)}


@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, key: str) -> HttpResponse:
    service = _service(key)
    if service.provider.auth is AuthStyle.APP_PASSWORD:
        return _connect_caldav(request, service)
    if request.method != "POST":
        return redirect(INDEX)  # starting a flow changes the session: a form POST only
    return _start_oauth(request, service)


def _start_oauth(request: HttpRequest, service: Service) -> HttpResponse:
    try:
        return redirect(lifecycle.start_oauth(request, service))
    except lifecycle.NotConfigured as exc:
        messages.error(request, str(exc))
        return redirect(INDEX)


@login_required
@require_GET
def callback(request: HttpRequest, key: str) -> HttpResponse:
    service = _service(key)
    if key not in BACKENDS:
        raise Http404("not an OAuth service")
    handoff.claim(request, key)  # a connect its script started through the API
    try:
        result = flow.complete(request, key)
    except flow.ConnectError as exc:
        messages.error(request, exc.message)
        record(
            "connection.connect_failed",
            request=request,
            details={"service": service.key, "reason": exc.reason},
            success=False,
        )
        return redirect(INDEX)
    connection = result.connection
    first_sync = lifecycle.announce_connected(connection, result.created, request=request)
    verb = "connected" if result.created else "reconnected"
    messages.success(request, f"{service.display_name} ({connection.label}) is {verb}.")
    return _after_connecting(request, connection, first_sync)


def _after_connecting(request: HttpRequest, connection: Connection, first_sync) -> HttpResponse:
    """Where a person goes once an account is connected: to pick what it needs before it can
    sync; to the preview of its first sync when that waits for their word; else the list,
    where the first sync is already under way."""
    if connection.setup_needed:
        messages.info(request, f"To start syncing, {connection.setup_needed}.")
        url = reverse("integrations:settings", kwargs={"pk": connection.pk})
        return redirect(f"{url}?pick=1")
    return _to_first_sync(request, first_sync)


def _to_first_sync(request: HttpRequest, first_sync) -> HttpResponse:
    if first_sync is not None and first_sync.dry_run:
        messages.info(
            request, "DayFlow already has items of this kind: check what the first sync does."
        )
        return redirect("sync:job", pk=first_sync.pk)
    if first_sync is not None:
        messages.info(request, "Its first sync has started.")
    return redirect(INDEX)


def _connect_caldav(request: HttpRequest, service: Service) -> HttpResponse:
    sandbox = service_urls.base_url(service.key)
    initial = {
        "server_url": _reconnected_server_url(request, service)
        or (sandbox and f"{sandbox}/")
        or service.provider.server_url,
        "username": request.GET.get("username") or (request.user.get_username() if sandbox else ""),
    }
    form = CalDAVConnectForm(request.POST or None, initial=initial, service=service.key)
    if request.method == "POST":
        connected = form.connect(service, request=request)
        if connected is not None:
            found = len(form.calendars)
            verb = "connected" if connected[1] else "reconnected"
            messages.success(
                request, f"{service.display_name} is {verb}: {found} calendar(s) found."
            )
            connection = connected[0]
            return _after_connecting(request, connection, getattr(connection, "first_sync", None))
    context = {"service": service, "form": form, "sandbox": sandbox}
    return render(request, "integrations/caldav_connect.html", context)


def _reconnected_server_url(request: HttpRequest, service: Service) -> str:
    """The server URL of the connection being reconnected (`?connection=`), if it is the
    user's: a connection to another server than the preset's keeps its own."""
    pk = request.GET.get("connection", "")
    if not pk.isdigit():
        return ""
    connection = Connection.objects.for_user(request.user).filter(pk=pk, service=service).first()
    credential = getattr(connection, "credential", None) if connection else None
    return credential.server_url if credential else ""


@login_required
@require_POST
def reconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    if connection.service.provider.auth is AuthStyle.APP_PASSWORD:
        url = reverse("integrations:connect", kwargs={"key": connection.service.key})
        query = {"username": connection.label, "connection": connection.pk}
        return redirect(f"{url}?{urlencode(query)}")
    return _start_oauth(request, connection.service)


@login_required
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle_action(request, pk, lifecycle.pause, "paused")


@login_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle_action(request, pk, lifecycle.resume, "resumed")


def _lifecycle_action(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    connection = _connection(request, pk)
    try:
        action(connection, request=request)
    except ActionRefused as exc:
        note, problem = f"{connection}: {exc}.", True
    else:
        note, problem = f"{connection} is {done}.", False
    if is_htmx(request):
        return render_card(request, pk, note, problem)
    (messages.error if problem else messages.success)(request, note)
    return redirect(INDEX)


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = DisconnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revoked = lifecycle.disconnect(
                connection, keep_items=form.cleaned_data["keep_items"], request=request
            )
        except ActionRefused as exc:
            messages.error(request, f"{connection}: {exc}.")
        else:
            note = "" if revoked else f" Remove DayFlow's access in {connection.service} too."
            messages.success(request, f"{connection} is disconnected.{note}")
        return redirect(INDEX)
    return render(request, "integrations/disconnect.html", {"connection": connection, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def connection_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """The settings page: what to sync picked from what the service lists (its databases,
    lists, teams, projects or calendars), the rest in words, and the raw settings under
    "Advanced". `?pick=1` is where connecting leads while the connection needs setup."""
    connection = _connection(request, pk)
    listing = listed_containers(connection)
    form = ConnectionSettingsForm(
        request.POST or None, instance=connection, listing=listing, page=True
    )
    pick = request.GET.get("pick") == "1" or bool(connection.setup_needed)
    if pick and "collection" in form.fields:
        form.fields["collection"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        saved = lifecycle.save_settings(form, request=request)
        messages.success(request, f"Settings of {saved} are saved.")
        if saved.first_sync is not None:
            return _to_first_sync(request, saved.first_sync)
        return redirect(INDEX)
    context = {
        "connection": connection,
        "form": form,
        "listing": listing,
        "advanced_open": listing.problem or bool(form.errors.get("field_mapping")),
        "rules": form.rules,
    }
    return render(request, "integrations/settings.html", context)


@login_required
@require_POST
def rules_preview_part(request: HttpRequest, pk: int) -> HttpResponse:
    """How many of DayFlow's items the rules being typed on the settings page would let
    through: counted, never saved (htmx asks for it as the fields change)."""
    connection = _connection(request, pk)
    form = RulesForm(request.POST, kinds=tuple(connection.offered_fields()))
    context: dict = {"connection": connection}
    if form.is_valid():
        counts = rules_preview.count(connection, form.rules(), timezone.localdate())
        context["preview"] = {
            "sentence": rules_preview.sentence(counts),
            "let_go": sum(c.let_go for c in counts),
        }
    else:
        context["preview_problem"] = "Correct the rules above to count the items that match."
    return render(request, "integrations/_rules_preview.html", context)
