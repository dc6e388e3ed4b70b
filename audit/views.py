"""The Activity page: the person's timeline (audit/activity.py), filtered and paged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit import activity
from integrations.models import Connection

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
LONGEST_RANGE = dt.timedelta(days=366 * 5)


class DateInput(forms.DateInput):
    input_type = "date"


class ActivityFilters(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.none(), required=False, empty_label="All connections"
    )
    kind = forms.ChoiceField(
        choices=[("", "Everything"), *activity.KINDS.items()], required=False, label="What"
    )
    since = forms.DateField(label="From", required=False, widget=DateInput())
    until = forms.DateField(label="To", required=False, widget=DateInput())
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = Connection.objects.for_user(user).select_related(
            "service"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        for name, day in (("since", since), ("until", until)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, "Choose a date between the years 1900 and 2200.")
        if since and until and until < since:
            self.add_error("until", "The last day comes before the first.")
        elif since and until and until - since > LONGEST_RANGE:
            self.add_error("until", "Choose at most five years at a time.")
        if data.get("before"):
            try:
                data["cursor"] = activity.Cursor.parse(data["before"])
            except activity.BadCursor:
                self.add_error(None, "That page link is not valid: start again from the top.")
        return data

    def filters(self) -> activity.Filters:
        data, zone = self.cleaned_data, timezone.get_current_timezone()
        since, until = data.get("since"), data.get("until")
        return activity.Filters(
            connection=data.get("connection"),
            kind=data.get("kind") or "",
            since=dt.datetime.combine(since, dt.time.min, tzinfo=zone) if since else None,
            until=(
                dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
                if until
                else None
            ),
        )


@login_required
@require_http_methods(["GET", "HEAD"])
def activity_page(request: HttpRequest) -> HttpResponse:
    form = ActivityFilters(request.GET or None, user=request.user)
    if request.GET and not form.is_valid():
        return render(request, "audit/activity.html", {"form": form, "page": None}, status=400)
    filters = form.filters() if form.is_bound else activity.Filters()
    cursor = form.cleaned_data.get("cursor") if form.is_bound else None
    page = activity.timeline(request.user, filters, cursor)
    query = request.GET.copy()
    query.pop("before", None)
    top_query = query.urlencode()
    if page.next_cursor is not None:
        query["before"] = str(page.next_cursor)
    context = {
        "form": form,
        "page": page,
        "next_query": query.urlencode() if page.next_cursor else "",
        "top_query": top_query,
        "paged": cursor is not None,
        "filtered": any(request.GET.get(name) for name in ("connection", "kind", "since", "until")),
    }
    return render(request, "audit/activity.html", context)
