from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.defaults import page_not_found

from dayflow import agenda, recurrence
from dayflow.api.tokens import MAX_TOKENS_PER_USER, make_token, revoke_token
from dayflow.forms import ApiTokenForm, EventForm, ProfileForm, TaskForm
from dayflow.models import INBOX, ApiToken, Event, Profile, Task, TaskList

UPCOMING = dt.timedelta(weeks=8)
UPCOMING_SHOWN = 20
OPEN_TASKS_SHOWN = 20  # on Today; the tasks page lists them all


# --- what the pages read ---------------------------------------------------------------------
def _with_sync_links(items: QuerySet) -> QuerySet:
    """Each item's links to services (`sync.ItemLink`, reached through its reverse relation so
    the planner does not import the sync app), with their connection: one query in all."""
    links = items.model._meta.get_field("sync_links").related_model
    return items.prefetch_related(
        Prefetch(
            "sync_links",
            queryset=links.objects.exclude(remote_id="").select_related("connection__service"),
        )
    )


def _tasks(request: HttpRequest) -> QuerySet:
    return _with_sync_links(Task.objects.for_user(request.user).select_related("task_list"))


def _events(request: HttpRequest) -> QuerySet:
    return _with_sync_links(Event.objects.for_user(request.user).select_related("series"))


def _due_key(task: Task) -> tuple:
    """Open tasks first; then by when they are due (undated last), most urgent first."""
    due = task.due_at or (agenda.in_reading_zone(task.due_date) if task.due_date else None)
    return (task.status != Task.Status.OPEN, due is None, due, -task.priority, task.title.lower())


def _today_window() -> tuple[dt.datetime, dt.datetime]:
    today = timezone.localdate()
    start = dt.datetime.combine(today, dt.time(), timezone.get_current_timezone())
    return start, dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), start.tzinfo)


def _is_due_by(task: Task, end: dt.datetime) -> bool:
    if task.due_at:
        return task.due_at < end
    return task.due_date is not None and task.due_date < timezone.localtime(end).date()


# --- today -----------------------------------------------------------------------------------
@login_required
def home(request: HttpRequest) -> HttpResponse:
    start, end = _today_window()
    events = _events(request).prefetch_related("exceptions").filter(_around(start, end))
    tasks = sorted(_tasks(request).filter(status=Task.Status.OPEN), key=_due_key)
    due = [task for task in tasks if _is_due_by(task, end)]
    later = [task for task in tasks if not _is_due_by(task, end)]
    return render(
        request,
        "dayflow/home.html",
        {
            "today": start.date(),
            "todays_events": agenda.occurrences(events, start, end),
            "due_tasks": due,
            "open_tasks": later[:OPEN_TASKS_SHOWN],
        },
    )


def _around(start: dt.datetime, end: dt.datetime) -> Q:
    """Every series, and the events within a day of the window: a day either side leaves room
    for all-day dates and floating times, read in the person's zone (`agenda` is exact)."""
    low, high = start - dt.timedelta(days=1), end + dt.timedelta(days=1)
    timed = Q(start__lt=high) & (Q(end__gt=low) | Q(end__isnull=True, start__gte=low))
    days = Q(start_date__lt=high.date()) & (
        Q(end_date__gt=low.date()) | Q(end_date__isnull=True, start_date__gte=low.date())
    )
    return Q(series__isnull=True) & ~Q(rrule="") | timed | days


# --- tasks -----------------------------------------------------------------------------------
LIST_FILTER_CHARS = 12
INBOX_FILTER = "inbox"


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    """The person's tasks, all or those of one list (`?list=<id>`, or `inbox`). A task not
    synced anywhere whose list has no destination says it stays in DayFlow."""
    lists = list(TaskList.objects.for_user(request.user))
    chosen = request.GET.get("list", "")
    tasks = _tasks(request)
    if chosen == INBOX_FILTER:
        tasks = tasks.filter(task_list__isnull=True)
    elif chosen:
        if len(chosen) > LIST_FILTER_CHARS or not chosen.isdigit():
            return HttpResponseBadRequest("Choose a list.")
        if int(chosen) not in {task_list.pk for task_list in lists}:
            raise Http404("no such list")
        tasks = tasks.filter(task_list_id=int(chosen))
    tasks = sorted(tasks, key=_due_key)
    _mark_staying(request, tasks, "task")
    context = {"tasks": tasks, "lists": lists, "chosen": chosen, "inbox": INBOX}
    return render(request, "dayflow/task_list.html", context)


def _mark_staying(request: HttpRequest, items: list[Task] | list[Event], kind: str) -> None:
    """Mark each item synced nowhere whose list (or calendar) has no destination: it stays in
    DayFlow, and the page says so."""
    column = "task_list_id" if kind == "task" else "calendar_id"
    with_destination = _sides_with_destination(request, kind, column)
    for item in items:
        synced = bool(item.sync_links.all())
        item.stays_in_dayflow = not synced and getattr(item, column) not in with_destination


def _sides_with_destination(request: HttpRequest, kind: str, column: str) -> set[int | None]:
    """The person's lists (or calendars) whose new items go to a service (None: the Inbox's,
    or My calendar's), in one query, through the lists' reverse relation to the sync app's
    links (the planner imports none of the sync app)."""
    links = TaskList._meta.get_field("sync_links").related_model
    destinations = links.objects.filter(user=request.user, is_destination=True)
    # A task link feeds a list or the Inbox, an event link a calendar or My calendar.
    destinations = destinations.filter(item_type=kind)
    return set(destinations.values_list(column, flat=True))


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST or None, instance=Task(user=request.user))
    if request.method == "POST" and form.is_valid():
        task = form.save()
        messages.success(request, f"Task “{task.title}” added.")
        return redirect("task-list")
    return render(request, "dayflow/task_form.html", {"form": form, "task": None})


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.for_user(request.user), pk=pk)
    form = TaskForm(request.POST or None, instance=task)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Task “{task.title}” saved.")
        return redirect("task-list")
    return render(request, "dayflow/task_form.html", {"form": form, "task": task})


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.for_user(request.user), pk=pk)
    done = request.POST.get("done") != "0"
    task.status = Task.Status.DONE if done else Task.Status.OPEN
    task.completed_at = timezone.now() if done else None
    task.save(update_fields=["status", "completed_at"])
    messages.success(request, f"Task “{task.title}” {'done' if done else 'open again'}.")
    return redirect(_next(request, "task-list"))


@login_required
@require_http_methods(["GET", "POST"])
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.for_user(request.user), pk=pk)
    if request.method == "POST":
        task.soft_delete()
        messages.success(request, f"Task “{task.title}” deleted.")
        return redirect("task-list")
    return render(request, "dayflow/confirm_delete.html", {"item": task, "kind": "task"})


def _next(request: HttpRequest, default: str) -> str:
    # Back to the page the button was on: only our own pages, never another host.
    target = request.POST.get("next", "")
    ours = url_has_allowed_host_and_scheme(target, allowed_hosts=None) and target.startswith("/")
    return target if ours else default


# --- events ----------------------------------------------------------------------------------
@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    events = sorted(_events(request), key=_event_key)
    _mark_staying(request, events, "event")
    return render(request, "dayflow/event_list.html", {"events": events})


def _event_key(event: Event) -> tuple:
    start = agenda.span(event)[0]
    return (start is None, agenda.in_reading_zone(start) if start else None, event.title)


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(_events(request).prefetch_related("exceptions"), pk=pk)
    now = timezone.now()
    upcoming = []
    if event.rrule and not event.series_id:
        found = agenda.occurrences([event, *event.exceptions.all()], now, now + UPCOMING)
        upcoming = found[:UPCOMING_SHOWN]
    _mark_staying(request, [event], "event")
    return render(request, "dayflow/event_detail.html", {"event": event, "upcoming": upcoming})


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    form = EventForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        event = form.apply(Event(user=request.user))
        event.save()
        messages.success(request, f"Event “{event.title}” added.")
        return redirect("event-list")
    return render(request, "dayflow/event_form.html", {"form": form, "event": None})


@login_required
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.for_user(request.user), pk=pk)
    form = EventForm(request.POST or None, event=event, initial=EventForm.initial_for(event))
    if request.method == "POST" and form.is_valid():
        form.apply(event).save()
        messages.success(request, f"Event “{event.title}” saved.")
        return redirect("event-detail", pk=event.series_id or event.pk)
    return render(request, "dayflow/event_form.html", {"form": form, "event": event})


@login_required
@require_http_methods(["GET", "POST"])
def event_delete(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.for_user(request.user), pk=pk)
    if request.method == "POST":
        with transaction.atomic():
            if event.series_id:
                _skip(event.series, event.recurrence_id)
            else:
                for exception in event.exceptions.all():
                    exception.soft_delete()
            event.soft_delete()
        messages.success(request, f"Event “{event.title}” deleted.")
        return (
            redirect("event-detail", pk=event.series_id)
            if event.series_id
            else redirect("event-list")
        )
    return render(request, "dayflow/confirm_delete.html", {"item": event, "kind": "event"})


# --- one occurrence of a series --------------------------------------------------------------
def _occurrence(request: HttpRequest, pk: int) -> tuple[Event, str, object]:
    """The series master and one of its original starts, named by `at` (GET or POST); 404
    when `at` is not a start of the series, or has been skipped or changed already."""
    master = get_object_or_404(
        Event.objects.for_user(request.user).filter(series__isnull=True).exclude(rrule=""), pk=pk
    )
    at = (request.POST.get("at") or request.GET.get("at") or "")[:40]
    first = agenda.span(master)[0]
    try:
        original = _in_own_terms(recurrence.same_instant_key(at), first, master)
    except (ValueError, TypeError):
        raise Http404("no such occurrence") from None
    taken = {recurrence.same_instant_key(t) for t in master.exdates or []} | {
        recurrence.same_instant_key(e.recurrence_id) for e in master.exceptions.all()
    }
    if first is None or original in taken or not recurrence.is_start(master.rrule, first, original):
        raise Http404("no such occurrence")
    return master, recurrence.occurrence_id(original), original


def _in_own_terms(value, first, master: Event):
    if first is None or isinstance(first, dt.datetime) != isinstance(value, dt.datetime):
        raise ValueError("not an occurrence of this series")
    if isinstance(value, dt.datetime) and first.tzinfo is not None:
        if value.tzinfo is None:
            raise ValueError("a floating time for a zoned series")
        return value.astimezone(first.tzinfo)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        raise ValueError("a zoned time for a floating series")
    return value


@login_required
@require_http_methods(["GET", "POST"])
def occurrence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    master, rid, original = _occurrence(request, pk)
    first, end = agenda.span(master)
    initial = EventForm.initial_for(master, original, original + (end - first))
    form = EventForm(request.POST or None, event=master, occurrence=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        exception = Event(user=request.user, series=master, recurrence_id=rid)
        exception.status = master.status
        form.apply(exception).save()
        messages.success(request, f"This occurrence of “{master.title}” changed.")
        return redirect("event-detail", pk=master.pk)
    context = {"form": form, "event": master, "occurrence": original, "at": rid}
    return render(request, "dayflow/event_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def occurrence_skip(request: HttpRequest, pk: int) -> HttpResponse:
    master, rid, original = _occurrence(request, pk)
    if request.method == "POST":
        _skip(master, rid)
        messages.success(request, f"“{master.title}” skipped on that date.")
        return redirect("event-detail", pk=master.pk)
    context = {"item": master, "kind": "occurrence", "at": rid, "occurrence": original}
    return render(request, "dayflow/confirm_delete.html", context)


def _skip(master: Event, rid: str) -> None:
    """The date joins the master's skipped dates (EXDATE), in the form providers write."""
    if not rid:
        return
    keys = {recurrence.same_instant_key(t) for t in master.exdates or []}
    if recurrence.same_instant_key(rid) not in keys:
        master.exdates = sorted([*(master.exdates or []), rid])
        master.save(update_fields=["exdates"])


# --- profile ---------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    mine = Profile.objects.filter(user=request.user).first() or Profile(user=request.user)
    initial = {} if mine.pk else {"timezone": timezone.get_current_timezone_name()}
    form = ProfileForm(request.POST or None, instance=mine, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Times now show in {mine.timezone}.")
        return redirect("profile")
    return render(request, "dayflow/profile.html", {"form": form, "chosen": bool(mine.pk)})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico on every page (the admin's included), whatever we link.
    return redirect(static("favicon.svg"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that matches no route (`/api/tokens/0.5`) is a 404 in JSON, like the
    API's own: a script parses every answer the same way. The pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


# --- API tokens ------------------------------------------------------------------------------
@login_required
@never_cache  # the answer to a POST shows a new token: no cache may keep it
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The person's API tokens, and a form to make one. A new token is shown in the answer to
    the POST itself, this once: never put in the session or a message, which would store it."""
    tokens = ApiToken.objects.for_user(request.user)
    form = ApiTokenForm(request.POST or None)
    made, token = None, None
    if request.method == "POST" and form.is_valid():
        if tokens.count() >= MAX_TOKENS_PER_USER:
            form.add_error(None, f"You have {MAX_TOKENS_PER_USER} tokens; revoke one first.")
        else:
            name, expiry = form.cleaned_data["name"], form.expiry()
            made, token = make_token(request.user, name, expiry, request)
            form = ApiTokenForm()
    return render(
        request,
        "dayflow/api_tokens.html",
        {"tokens": tokens, "form": form, "made": made, "token": token},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def revoke_api_token(request: HttpRequest, pk: int) -> HttpResponse:
    api_token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    revoke_token(api_token, request)
    messages.success(request, f"Revoked “{api_token.name}”: it no longer works.")
    return redirect("api-tokens")
