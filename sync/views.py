"""The sync pages: start a sync or a preview, follow a job (pause, resume, cancel, confirm,
undo), and settle conflicts. Plain function views over the user's own connections only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations.actions import ActionRefused
from integrations.models import Connection
from sync import repair, services
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
    except ActionRefused:
        messages.error(
            request, f"{connection} cannot sync now ({connection.get_status_display()})."
        )
        return redirect("integrations:index")
    return redirect("sync:job", pk=job.pk)


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    context = {
        "job": job,
        "counters": counter_rows(job),
        "preview": job.report.get("preview"),
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


def counter_rows(job: SyncJob) -> list[tuple[str, int]]:
    """The job's counters in a person's words, the service named."""
    service = str(job.connection.service)
    labels = {
        "processed": "Items looked at",
        "local_created": "Added in DayFlow",
        "local_updated": "Changed in DayFlow",
        "local_deleted": "Deleted in DayFlow",
        "remote_created": f"Added in {service}",
        "remote_updated": f"Changed in {service}",
        "remote_deleted": f"Deleted in {service}",
        "conflicts": "Conflicts",
        "errors": "Errors",
        "api_calls": f"Requests to {service}",
    }
    return [(labels[name], value) for name, value in job.counters().items()]
