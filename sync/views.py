"""The sync pages: start a sync or a preview, the history of jobs, follow a job (pause, resume,
cancel, confirm, undo), and settle conflicts. Plain function views over the user's own
connections only; the words come from `sync.history`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from integrations import dashboard
from integrations.actions import ActionRefused
from integrations.models import Connection
from integrations.views import is_htmx, render_card
from sync import conflicts as settling
from sync import history, matching, repair, services
from sync.models import Conflict, ItemType, SyncJob


def _job(request: HttpRequest, pk: int) -> SyncJob:
    return get_object_or_404(
        SyncJob.objects.for_user(request.user).select_related("connection__service"), pk=pk
    )


@login_required
@require_POST
def start(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Sync now (or Preview). From a dashboard card (htmx) the answer is the card, which then
    follows the job; a plain form goes to the job's page."""
    connection = get_object_or_404(Connection.objects.for_user(request.user), pk=connection_id)
    preview = bool(request.POST.get("preview"))
    try:
        job = services.sync_now(connection, trigger=SyncJob.Trigger.USER, preview=preview)
    except ActionRefused as refusal:
        why = refusal.reason if connection.setup_needed else connection.get_status_display()
        refused = f"{connection} cannot sync now ({why})."
        if is_htmx(request):
            return render_card(request, connection.pk, refused, problem=True)
        messages.error(request, refused)
        return redirect("integrations:index")
    if is_htmx(request):
        what = "Preview" if preview else "Sync"
        return render_card(request, connection.pk, f"{what} #{job.pk} started.")
    return redirect("sync:job", pk=job.pk)


JOBS_PER_PAGE = 25


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    connections = list(Connection.objects.for_user(request.user).select_related("service"))
    filters = history.read_filters(request.GET, connections)
    jobs = SyncJob.objects.for_user(request.user)
    page = Paginator(
        filters.apply(jobs).select_related("connection__service").order_by("-created_at", "-pk"),
        JOBS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    # The charts follow the connection filter, not the result one: a day's failures need its
    # other syncs beside them.
    charts = history.charts(jobs, [filters.connection] if filters.connection else connections)
    context = {
        "page": page,
        "rows": [_job_row(job) for job in page],
        "connections": connections,
        "filters": filters,
        "results": [(key, words) for key, (words, _) in history.RESULTS.items()],
        "charts": [{"chart": chart, "strips": history.strips(chart)} for chart in charts],
        "chart_width": history.CHART_WIDTH,
        "strip_height": history.STRIP_HEIGHT,
        "bar_width": history.BAR_WIDTH,
    }
    return render(request, "sync/jobs.html", context)


def _job_row(job: SyncJob) -> dict:
    return {
        "job": job,
        "result": history.result_key(job),
        "result_words": history.result_words(job),
        "summary": history.summary(job),
        "took": history.duration_words(history.duration(job)),
    }


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "sync/job.html", _job_context(_job(request, pk)))


@login_required
@require_GET
def job_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The changing part of a job's page, which asks for itself while the job runs."""
    return render(request, "sync/_job_live.html", _job_context(_job(request, pk)))


def _job_context(job: SyncJob) -> dict:
    journal, more = history.journal_rows(job)
    undo = history.undo_state(job)
    allowed = set(job.allowed_actions)
    if undo["reverted"]:
        allowed.discard("undo")  # already undone: `repair.undo_job` stamped its entries
    return {
        "job": job,
        **_job_row(job),
        "allowed": allowed,
        "advice": history.advice(job),
        "counters": history.counter_rows(job),
        "preview": job.report.get("preview"),
        "matching": matching.shown(job.report),
        "journal": journal,
        "journal_more": more,
        "undo": undo,
        "undone": repair.undone_links(job).select_related("task", "event"),
        "progress": dashboard.progress(job, str(job.connection.service)) if job.is_active else None,
        "poll_seconds": dashboard.POLL_SECONDS,
    }


@login_required
@require_POST
def job_control(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    job = _job(request, pk)
    if action == "undo":
        report = repair.undo_job(job.pk, user=request.user, request=request)
        messages.info(request, f"Reverted {report.reverted}, skipped {len(report.skipped)}.")
        if report.unlinked:
            messages.warning(request, f"{report.unlinked} item(s) are not synced now: see below.")
    elif action == "send-again":
        sent = repair.send_again(job.pk, user=request.user, request=request)
        messages.info(request, f"Sent again {sent.sent}, failed {len(sent.failed)}.")
    elif action == LINK_AND_SYNC:
        return _link_and_sync(request, job)
    else:
        try:
            services.control_job(job, action, request=request)
        except ActionRefused as refused:
            messages.error(request, f"{refused}.")
        else:
            messages.info(request, f"Job {job.pk}: {action} requested.")
    return redirect("sync:job", pk=job.pk)


LINK_AND_SYNC = "link-and-sync"


def _link_and_sync(request: HttpRequest, job: SyncJob) -> HttpResponse:
    """A first sync's preview confirmed: link the ticked "Same item?" pairs (creating
    nothing), then sync. Pairs the preview did not offer refuse the whole request (400), with
    nothing linked."""
    keys = request.POST.getlist("pair")
    base_from = request.POST.get("base_from", "dayflow")
    # A pair's own choice ("keep-<key>"), where the person made one; an unticked pair's is
    # moot and dropped, as the form cannot take it away with its checkbox.
    bases = {key: request.POST[f"keep-{key}"] for key in keys if request.POST.get(f"keep-{key}")}
    try:
        matching.check_preview(job, keys, base_from, bases)
    except matching.MatchRefused as refused:
        messages.error(request, f"Nothing was linked: {refused}.")
        return render(request, "sync/job.html", _job_context(job), status=400)
    try:
        new_job, linked = services.confirm_preview(job, keys, base_from, bases, request=request)
    except ActionRefused as refusal:
        messages.error(request, f"{job.connection} cannot sync now ({refusal.reason}).")
        return redirect("sync:job", pk=job.pk)
    if linked.linked or linked.skipped:
        skipped = f", {linked.skipped} skipped (changed since)" if linked.skipped else ""
        messages.info(request, f"Linked {linked.linked} pair(s) as the same item{skipped}.")
    return redirect("sync:job", pk=new_job.pk)


# --- conflicts -----------------------------------------------------------------------------------
CONFLICTS_PER_PAGE = 50
MAX_BULK = 100


def _open_conflicts(request: HttpRequest):
    return (
        Conflict.objects.for_user(request.user)
        .filter(status=Conflict.Status.OPEN)
        .select_related("link__connection__service")
    )


def _conflict_filters(query, connections: list[Connection]) -> dict[str, Any]:
    """The inbox's filters from the query string: junk is ignored, never a 500."""
    ids = {str(c.pk): c for c in connections}
    item_type = query.get("item_type", "")
    return {
        "connection": ids.get(query.get("connection", "")),
        "item_type": item_type if item_type in ItemType.values else "",
    }


@login_required
@require_GET
def conflict_list(request: HttpRequest) -> HttpResponse:
    connections = list(Connection.objects.for_user(request.user).select_related("service"))
    filters = _conflict_filters(request.GET, connections)
    conflicts = _open_conflicts(request)
    if filters["connection"] is not None:
        conflicts = conflicts.filter(link__connection=filters["connection"])
    if filters["item_type"]:
        conflicts = conflicts.filter(link__item_type=filters["item_type"])
    page = Paginator(
        conflicts.order_by("link__connection_id", "-created_at", "-pk"), CONFLICTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    groups: dict[int, dict[str, Any]] = {}
    for conflict in page:
        connection = conflict.link.connection
        group = groups.setdefault(connection.pk, {"connection": connection, "rows": []})
        group["rows"].append(_inbox_row(conflict))
    context = {
        "page": page,
        "groups": list(groups.values()),
        "conflicts": page.object_list,
        "connections": connections,
        "filters": filters,
        "item_types": ItemType.choices,
        "query": urlencode(
            {
                "connection": filters["connection"].pk if filters["connection"] else "",
                "item_type": filters["item_type"],
            }
            if filters["connection"] or filters["item_type"]
            else {}
        ),
        "max_bulk": MAX_BULK,
    }
    return render(request, "sync/conflicts.html", context)


def _inbox_row(conflict: Conflict) -> dict[str, Any]:
    clash = settling.clashing(conflict.base, conflict.local, conflict.remote)
    side = conflict.local or conflict.remote or {}
    if conflict.local is None:
        what = "Deleted in DayFlow, changed at the service"
    elif conflict.remote is None:
        what = "Changed in DayFlow, deleted at the service"
    else:
        what = f"{settling.label_list(clash)} changed on both sides" if clash else "Changed"
    return {
        "conflict": conflict,
        "title": str(side.get("title") or (conflict.remote or {}).get("title") or "(no title)"),
        "what": what,
        "item_type": conflict.link.get_item_type_display(),
    }


@login_required
@require_GET
def conflict_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(
        Conflict.objects.for_user(request.user).select_related("link__connection__service"),
        pk=pk,
    )
    return render(request, "sync/conflict.html", _detail_context(conflict, {}, {}))


def _detail_context(
    conflict: Conflict, posted: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    zone = timezone.get_current_timezone()
    service = str(conflict.link.connection.service)
    base, local, remote = conflict.base or {}, conflict.local, conflict.remote
    rows = []
    for row in settling.compare(base, local, remote):
        words = {
            side: settling.value_words(row.name, value, fields, zone)
            for side, value, fields in (
                ("base", row.base, base),
                ("local", row.local, local),
                ("remote", row.remote, remote),
            )
        }
        rows.append(
            {
                "row": row,
                "label": settling.label(row.name),
                "words": words,
                "editable": row.name in settling.EDITABLE,
                "long": row.name in ("notes", "description"),
                "input_type": _input_type(row),
                "max_length": settling.TEXT_LIMITS.get(row.name),
                "edit_value": posted.get(f"edit-{row.name}")
                if f"edit-{row.name}" in posted
                else settling.input_value(row.name, row.local, zone),
                "chosen": posted.get(f"choice-{row.name}", ""),
                "error": errors.get(row.name, ""),
                "from_words": "from DayFlow"
                if row.change == settling.FROM_LOCAL
                else f"from {service}",
            }
        )
    clash = [r["row"].name for r in rows if r["row"].clash]
    merged = [r for r in rows if r["row"].merged_automatically]
    return {
        "conflict": conflict,
        "service": service,
        "rows": rows,
        "clash_words": settling.label_list(clash) if clash else "",
        "kept_words": "; ".join(f"{r['label']} {r['from_words']}" for r in merged),
        "clashes": [r for r in rows if r["row"].clash],
        "mergeable": local is not None and remote is not None,
        "open": conflict.status == Conflict.Status.OPEN,
        "errors": errors,
        "title": _inbox_row(conflict)["title"],
    }


def _input_type(row: settling.Row) -> str:
    if row.name not in settling.TEMPORAL:
        return "text"
    values = [v for v in (row.local, row.remote) if isinstance(v, str) and v]
    return "date" if values and all(len(v) == 10 for v in values) else "datetime-local"


@login_required
@require_POST
def conflict_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(
        _open_conflicts(request).select_related("link__connection__service"), pk=pk
    )
    resolution = request.POST.get("resolution", "")
    choices, errors = _read_choices(conflict, request.POST, resolution)
    if not errors:
        try:
            repair.resolve_conflict(
                conflict.pk, resolution, user=request.user, choices=choices, request=request
            )
        except repair.CannotResolve as error:
            errors = getattr(error.__cause__, "problems", None) or {"resolution": str(error)}
            if error.status == 409:
                messages.error(request, f"Could not settle it: {error}. Sync, then look again.")
                return redirect("sync:conflict", pk=conflict.pk)
    if errors:
        context = _detail_context(conflict, request.POST.dict(), errors)
        return render(request, "sync/conflict.html", context, status=400)
    messages.success(
        request,
        f"Settled: both DayFlow and {conflict.link.connection.service} now hold the same version.",
    )
    return redirect("sync:conflicts")


def _read_choices(
    conflict: Conflict, posted, resolution: str
) -> tuple[dict[str, settling.Choice], dict[str, str]]:
    """The merge form's choices per clashing field: a side, or a typed value (checked)."""
    if resolution != settling.MERGED:
        return {}, {}
    zone = timezone.get_current_timezone()
    choices: dict[str, settling.Choice] = {}
    errors: dict[str, str] = {}
    rows = settling.compare(conflict.base, conflict.local, conflict.remote)
    all_day = _merged_all_day(conflict, posted)
    for row in rows:
        choice = posted.get(f"choice-{row.name}", "")
        if not row.clash and not choice:
            continue
        if choice in (settling.LOCAL, settling.REMOTE):
            choices[row.name] = choice
        elif choice == "edit" and row.name in settling.EDITABLE:
            try:
                value = settling.read_edit(
                    row.name,
                    posted.get(f"edit-{row.name}", ""),
                    sides={"local": row.local, "remote": row.remote},
                    all_day=all_day if conflict.link.item_type == ItemType.EVENT else None,
                    zone=zone,
                )
            except ValueError as error:
                errors[row.name] = str(error).capitalize() + "."
            else:
                choices[row.name] = settling.Edited(value)
        else:
            errors[row.name] = "Choose DayFlow's value, the service's, or type one."
    return choices, errors


def _merged_all_day(conflict: Conflict, posted) -> bool:
    local, remote = conflict.local or {}, conflict.remote or {}
    choice = posted.get("choice-all_day", "")
    if choice in (settling.LOCAL, settling.REMOTE):
        return bool((local if choice == settling.LOCAL else remote).get("all_day"))
    try:
        merged = settling.settle(conflict.base, local, remote, settling.LOCAL)
    except settling.Unsettled:
        return bool(local.get("all_day"))
    return bool(merged.get("all_day"))


@login_required
@require_POST
def conflict_bulk(request: HttpRequest) -> HttpResponse:
    """Settle the chosen conflicts (or all shown) the same way: DayFlow's or the service's
    values for the clashing fields, one-side changes kept from both."""
    resolution = request.POST.get("resolution", "")
    scope = "shown" if request.POST.get("scope") == "shown" else "conflict"
    raw = request.POST.getlist(scope)
    back = redirect(f"{reverse('sync:conflicts')}?{request.POST.get('query', '')[:500]}")
    if resolution not in (settling.LOCAL, settling.REMOTE):
        messages.error(request, "Choose whose values the clashing fields keep.")
        return back
    if not raw or len(raw) > MAX_BULK or not all(v.isdigit() and len(v) < 19 for v in raw):
        messages.error(request, f"Choose between 1 and {MAX_BULK} conflicts.")
        return back
    settled, failed = 0, []
    for conflict in _open_conflicts(request).filter(pk__in=[int(v) for v in raw]).order_by("pk"):
        try:
            repair.resolve_conflict(conflict.pk, resolution, user=request.user, request=request)
        except (repair.CannotResolve, Conflict.DoesNotExist) as error:
            failed.append(f"{_inbox_row(conflict)['title']} ({error})")
        else:
            settled += 1
    messages.success(request, f"Settled {settled} conflict{'s' if settled != 1 else ''}.")
    if failed:
        messages.error(request, "Not settled, sync and look again: " + "; ".join(failed[:10]))
    return back
