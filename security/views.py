"""The staff compliance report page (`security.compliance`), as HTML or as a CSV download."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from security import compliance

FORMATS = ("html", "csv")


@require_GET
@staff_member_required
def compliance_report(request: HttpRequest) -> HttpResponse:
    wanted = request.GET.get("format", "html")
    if wanted not in FORMATS:
        return HttpResponseBadRequest("format is html or csv.", content_type="text/plain")
    report = compliance.build()
    if wanted == "csv":
        response = HttpResponse(compliance.as_csv(report), content_type="text/csv; charset=utf-8")
        stamp = report.generated_at.strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="compliance-{stamp}.csv"'
        return response
    return render(request, "security/compliance.html", {"report": report})
