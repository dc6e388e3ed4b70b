"""The notices page: the list (newest first, paged), mark as read, and the email choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dayflow.api.bounds import LARGEST_ID
from notifications.forms import EmailPreferencesForm
from notifications.models import Notification, email_choices
from notifications.services import mark_read

PER_PAGE = 30


@login_required
@require_http_methods(["GET", "HEAD"])
def notification_list(request: HttpRequest) -> HttpResponse:
    notices = Notification.objects.for_user(request.user).select_related("connection__service")
    page = Paginator(notices, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def read_one(request: HttpRequest, pk: int) -> HttpResponse:
    if pk > LARGEST_ID:  # past the database's integers: no notice has that id
        raise Http404
    mark_read(request.user, pk)
    return redirect("notifications:list")


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    count = mark_read(request.user)
    messages.info(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_settings(request: HttpRequest) -> HttpResponse:
    form = EmailPreferencesForm(request.POST or None, choices=email_choices(request.user))
    if request.method == "POST" and form.is_valid():
        form.save(request.user)
        messages.success(request, "Your email choices are saved.")
        return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})
