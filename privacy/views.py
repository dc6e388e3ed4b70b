"""The "Your data" page: export your data, delete your account."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.writer import record
from privacy import erasure
from privacy.export import ExportInProgress, is_expired, remove_file, request_export
from privacy.forms import DeleteAccountForm
from privacy.models import ExportRequest

LISTED_EXPORTS = 20


@login_required
@never_cache
@require_GET
def data_page(request: HttpRequest) -> HttpResponse:
    return _page(request, DeleteAccountForm(request.user))


def _page(request: HttpRequest, form: DeleteAccountForm, status: int = 200) -> HttpResponse:
    exports = ExportRequest.objects.for_user(request.user)[:LISTED_EXPORTS]
    context = {"exports": exports, "form": form}
    return render(request, "privacy/data.html", context, status=status)


@login_required
@require_POST
def export_new(request: HttpRequest) -> HttpResponse:
    try:
        request_export(request.user)
    except ExportInProgress as exc:
        messages.error(request, str(exc))
    else:
        record("privacy.export_requested", request=request)
        messages.success(request, "Your export is being built: it appears below when ready.")
    return redirect("privacy:data")


@login_required
@never_cache
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(ExportRequest.objects.for_user(request.user), pk=pk)
    return download_response(request, export)


def download_response(request: HttpRequest, export: ExportRequest) -> HttpResponse:
    """The archive, or 410 once its link has expired (the file is deleted then), or 404 while
    it is not built. A download is audited: the archive holds everything about the person."""
    if is_expired(export):
        if export.status != ExportRequest.Status.EXPIRED:
            remove_file(export)
        return HttpResponse("This download link has expired. Request a new export.", status=410)
    path = Path(export.file_path) if export.file_path else None
    if export.status != ExportRequest.Status.READY or path is None or not path.is_file():
        return HttpResponse("This export is not ready.", status=404)
    record("privacy.export_downloaded", request=request, details={"export": export.pk})
    name = f"dayflow-export-{export.created_at:%Y-%m-%d}-{export.pk}.zip"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@never_cache
@require_http_methods(["POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.user, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    record("privacy.erasure_requested", request=request)
    with transaction.atomic():
        erasure.request_erasure(request.user)
    logout(request)
    return redirect("privacy:erased")


@require_GET
def erased(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/erased.html")
