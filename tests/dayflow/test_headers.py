"""Headers and exposure: the Content-Security-Policy on every page (no inline script anywhere),
`Cache-Control: private, no-store` on signed-in answers, and the API schema and docs behind a
sign-in unless DAYFLOW_PUBLIC_API_DOCS. (No CSP violation in Chromium:
tests/dayflow/test_browser_csp.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from dayflow.models import ApiToken

pytestmark = pytest.mark.django_db
TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def caching(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in header.split("; ") if d.strip()}


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/integrations/", "/admin/"])
def test_every_page_sends_a_policy_with_no_inline_script(admin_client, client, path):
    response = (client if path == "/accounts/login/" else admin_client).get(path)

    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_no_template_has_an_inline_script_style_or_handler():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    style = re.compile(r"\sstyle\s*=|<style", re.I)
    found = [
        (path.relative_to(TEMPLATES).as_posix(), pattern.pattern)
        for path in TEMPLATES.rglob("*.html")
        for pattern in (inline_script, handler, style)
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_htmx_is_told_not_to_inject_its_inline_style(client, user):
    client.force_login(user)
    html = client.get("/integrations/").content.decode()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html
    assert "js/htmx.min.js" in html


def test_signed_in_answers_are_private_and_not_stored(client, user):
    client.force_login(user)
    for path in ("/", "/integrations/", "/profile/", "/api/tasks"):
        assert {"private", "no-store"} <= caching(client.get(path)), path


def test_a_token_answer_is_private_too(user):
    _, token = ApiToken.objects.create(user=user, expiry=None, name="script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert {"private", "no-store"} <= caching(api.get("/api/tasks"))


def test_a_stricter_header_of_the_view_is_kept(client, user):
    client.force_login(user)
    # The tokens page is never_cache: its own header stays whole, private and no-store in it.
    answer = client.get("/account/tokens/")
    assert {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"} <= caching(answer)


def test_signed_out_pages_and_static_files_are_not_marked_private(client, settings, user):
    settings.WHITENOISE_USE_FINDERS = True  # no collectstatic in tests: serve from the finders
    settings.WHITENOISE_AUTOREFRESH = True
    assert "no-store" not in client.get("/accounts/password_reset/done/").get("Cache-Control", "")
    client.force_login(user)
    static = client.get(f"/{settings.STATIC_URL.strip('/')}/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


def test_the_schema_needs_a_sign_in(client, user):
    anonymous = client.get("/api/schema/")
    assert anonymous.status_code == 401
    assert b"openapi" not in anonymous.content

    _, token = ApiToken.objects.create(user=user, expiry=None, name="script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/schema/").status_code == 200

    client.force_login(user)
    assert client.get("/api/schema/").status_code == 200


def test_the_docs_page_sends_a_stranger_to_sign_in(client, user):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/api/docs/")

    client.force_login(user)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    # Its start-up script is a file of its own, not inline: only its style is allowed inline.
    html = page.content.decode()
    assert re.findall(r"<script>", html) == []
    assert "script=" in html
    assert policy(page)["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy(page)["style-src"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_a_setting_makes_the_schema_and_docs_public(client, settings):
    settings.DAYFLOW_PUBLIC_API_DOCS = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
