"""Every page links DayFlow's icon, and browsers asking for /favicon.ico get it, not a 404."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # no collectstatic in tests: serve from the finders
    settings.WHITENOISE_AUTOREFRESH = True

    response = Client().get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("favicon.svg")
    assert response["Content-Type"].startswith("image/svg+xml")


def test_pages_link_the_icon(client, user):
    login_page = client.get("/accounts/login/").content.decode()
    client.force_login(user)
    home = client.get("/").content.decode()

    for html in (login_page, home):
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
