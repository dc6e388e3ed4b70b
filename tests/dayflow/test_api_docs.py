"""/api/docs/ works on a machine without internet: Swagger UI's assets come from the app.
(The page needs a sign-in: tests/dayflow/test_headers.py.)"""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def referenced_assets(html: str) -> list[str]:
    return [url for url in ASSET.findall(html) if not url.startswith("#")]


def test_the_docs_page_references_no_external_host(client, user):
    client.force_login(user)
    html = client.get("/api/docs/").content.decode()

    assets = referenced_assets(html)
    assert any("swagger-ui" in url for url in assets), html
    assert [url for url in assets if re.match(r"(https?:)?//", url)] == []
    assert "cdn.jsdelivr.net" not in html


def test_the_docs_page_assets_are_served_by_the_app(client, settings, user):
    client.force_login(user)
    settings.WHITENOISE_USE_FINDERS = True  # no collectstatic in tests: serve from the finders
    settings.WHITENOISE_AUTOREFRESH = True
    html = client.get("/api/docs/").content.decode()
    static = [url for url in referenced_assets(html) if url.startswith(settings.STATIC_URL)]

    assert static, html
    for url in static:
        assert Client().get(url).status_code == 200, url
