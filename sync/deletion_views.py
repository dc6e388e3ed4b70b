"""A connection's deletions waiting for the person ("ask" policy): the list, and confirming or
restoring one or all. Owner only: another person's connection is a 404. The work is
`sync.deletions.settle`, which the API calls too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations.models import Connection
from sync import deletions
from sync.deletion_policy import Mark
from sync.models import ItemLink

PER_PAGE = 50
MAX_ID = 2**63 - 1


class SettleForm(forms.Form):
    """One waiting deletion (`link`) or all of the connection's (`all`): one of the two, so
    that a row's form losing its id never settles everything."""

    action = forms.ChoiceField(
        choices=[(deletions.CONFIRM, "Confirm"), (deletions.RESTORE, "Restore")]
    )
    link = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    all = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("link") is None) == (not data.get("all")):
            raise forms.ValidationError("Choose one deletion or all of them.")
        return data


def _connection(request: HttpRequest, pk: int) -> Connection:
    return get_object_or_404(
        Connection.objects.for_user(request.user).select_related("service"), pk=pk
    )


def deletion_row(link: ItemLink, service: str) -> dict[str, Any]:
    """One row in words: the item, which side deleted it (or that it moved to a list another
    connection takes), and what each button does."""
    row = {
        "link": link,
        "title": deletions.title_of(link) or "(no title)",
        "kind": link.get_item_type_display().lower(),
    }
    if link.deletion_pending == Mark.MOVED:
        taker = str(link.handover_to.service) if link.handover_to_id else "another service"
        return row | {
            "what": f"Moved in DayFlow to a list that syncs with {taker}",
            "confirm": f"deletes the copy at {service}",
            "restore": f"keeps the copy at {service}, no longer synced",
        }
    in_dayflow = link.deletion_pending == Mark.LOCAL
    return row | {
        "what": "Deleted in DayFlow" if in_dayflow else f"Deleted at {service}",
        "confirm": f"deletes it at {service} too" if in_dayflow else "deletes it in DayFlow too",
        "restore": "brings it back in DayFlow" if in_dayflow else f"brings it back at {service}",
    }


def _context(request: HttpRequest, connection: Connection) -> dict[str, Any]:
    page = Paginator(deletions.waiting(connection), PER_PAGE).get_page(request.GET.get("page"))
    service = str(connection.service)
    return {
        "connection": connection,
        # Deletions wait only under "ask" (the connection's, or one of its containers' own);
        # under another policy the page says what happens.
        "asks": connection.deletion_policy == Connection.DeletionPolicy.ASK
        or connection.sync_links.filter(deletion_policy=Connection.DeletionPolicy.ASK).exists(),
        "page": page,
        "rows": [deletion_row(link, service) for link in page],
    }


@login_required
@require_GET
def deletion_list(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    return render(request, "sync/deletions.html", _context(request, connection))


@login_required
@require_POST
def deletion_settle(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    form = SettleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: that is not a deletion you can settle.")
        return render(request, "sync/deletions.html", _context(request, connection), status=400)
    action, link_id = form.cleaned_data["action"], form.cleaned_data["link"]
    try:
        report = deletions.settle(connection, action, link_id, user=request.user, request=request)
    except deletions.DeletionRefused as refused:
        if refused.status == 404:
            raise Http404(refused.reason) from refused
        messages.error(request, f"Nothing was changed: {refused.reason}.")
        return render(
            request, "sync/deletions.html", _context(request, connection), status=refused.status
        )
    done = "Confirmed" if action == deletions.CONFIRM else "Restored"
    messages.info(request, f"{done} {report.done}.")
    for failure in report.failed:
        messages.error(request, f"{connection.service} refused one: {failure['why']}")
    return redirect("sync:deletions", connection_id=connection.pk)
