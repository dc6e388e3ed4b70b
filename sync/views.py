"""The sync pages: start a sync or a preview, the history of jobs, follow a job (pause, resume,
cancel, confirm, undo), and settle conflicts. Plain function views over the user's own
connections only; the words come from `sync.history`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations.actions import ActionRefused
from integrations.models import Connection
from sync import history, repair, services
from sync.models import Conflict, SyncJob


def _job(request: HttpRequest, pk: int) -> SyncJob:
    return get_object_or_404(
        SyncJob.objects.for_user(request.user).select_related("connection__service"), pk=pk
    )


@login_required
@require_POST
def start(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_user(request.user), pk=connection_id)
    try:
        job = services.sync_now(
            connection, trigger=SyncJob.Trigger.USER, preview=bool(request.POST.get("preview"))
        )
    except ActionRefused as refused:
        messages.error(request, f"{connection} cannot sync now: {refused.reason}.")
        return redirect("integrations:index")
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
    job = _job(request, pk)
    journal, more = history.journal_rows(job)
    undo = history.undo_state(job)
    allowed = set(job.allowed_actions)
    if undo["reverted"]:
        allowed.discard("undo")  # already undone: `repair.undo_job` stamped its entries
    context = {
        "job": job,
        **_job_row(job),
        "allowed": allowed,
        "advice": history.advice(job),
        "counters": history.counter_rows(job),
        "preview": job.report.get("preview"),
        "journal": journal,
        "journal_more": more,
        "undo": undo,
        "undone": repair.undone_links(job).select_related("task", "event"),
    }
    return render(request, "sync/job.html", context)


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
    else:
        try:
            services.control_job(job, action, request=request)
        except ActionRefused as refused:
            messages.error(request, f"{refused}.")
        else:
            messages.info(request, f"Job {job.pk}: {action} requested.")
    return redirect("sync:job", pk=job.pk)


@login_required
@require_GET
def conflict_list(request: HttpRequest) -> HttpResponse:
    conflicts = (
        Conflict.objects.for_user(request.user)
        .filter(status=Conflict.Status.OPEN)
        .select_related("link__connection__service")
    )
    return render(request, "sync/conflicts.html", {"conflicts": conflicts})


@login_required
@require_GET
def conflict_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(
        Conflict.objects.for_user(request.user).select_related("link__connection__service"),
        pk=pk,
    )
    rows = conflict.field_rows()
    return render(request, "sync/conflict.html", {"conflict": conflict, "rows": rows})


@login_required
@require_POST
def conflict_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(
        Conflict.objects.for_user(request.user), pk=pk, status=Conflict.Status.OPEN
    )
    choice = request.POST.get("resolution", "")
    try:
        repair.resolve_conflict(conflict.pk, choice, user=request.user, request=request)
    except ActionRefused as error:
        messages.error(request, f"Could not resolve: {error}")
        return redirect("sync:conflict", pk=conflict.pk)
    messages.success(request, "Conflict resolved on both sides.")
    return redirect("sync:conflicts")
