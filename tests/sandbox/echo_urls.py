"""The product's URLs plus two stand-in notification endpoints for Graph's handshake: one
echoes validationToken as Graph asks, the other never answers it right."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def echo(request):
    token = request.GET.get("validationToken")
    if token is not None:
        return HttpResponse(token, content_type="text/plain")
    return HttpResponse(status=202)


@csrf_exempt
def silent(request):
    return HttpResponse(status=202)


urlpatterns = [
    path("echo/", echo),
    path("silent/", silent),
    path("", include("dayflow.urls")),
]
