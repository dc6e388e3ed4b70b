from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from dayflow.models import Event, Task


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dayflow/home.html",
        {
            "open_tasks": Task.objects.for_user(request.user).filter(status=Task.Status.OPEN)[:10],
            "upcoming_events": Event.objects.for_user(request.user)[:10],
        },
    )


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    tasks = Task.objects.for_user(request.user)
    return render(request, "dayflow/task_list.html", {"tasks": tasks})


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    events = Event.objects.for_user(request.user).select_related("series")
    return render(request, "dayflow/event_list.html", {"events": events})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico on every page (the admin's included), whatever we link.
    return redirect(static("favicon.svg"))
