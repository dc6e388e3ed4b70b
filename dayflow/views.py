from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.defaults import page_not_found

from dayflow.api.tokens import MAX_TOKENS_PER_USER, make_token, revoke_token
from dayflow.forms import ApiTokenForm
from dayflow.models import ApiToken, Event, Task


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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that matches no route (`/api/tokens/0.5`) is a 404 in JSON, like the
    API's own: a script parses every answer the same way. The pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico on every page (the admin's included), whatever we link.
    return redirect(static("favicon.svg"))


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
