"""README command 1 on the embedded defaults: login page, demo login, admin, worker and beat."""

import os
import signal

import requests

from tests.e2e.conftest import wait_until


def login(app) -> requests.Session:
    session = requests.Session()
    session.get(f"{app.url}/accounts/login/", timeout=5)
    response = session.post(
        f"{app.url}/accounts/login/",
        data={
            "username": app.username,
            "password": app.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{app.url}/accounts/login/"},
        timeout=5,
    )
    assert response.url == f"{app.url}/", response.text[:500]
    return session


def test_serves_the_login_page_within_a_minute(running_app):
    assert running_app.started_in < 60 or os.environ.get("CI") != "true"
    response = requests.get(f"{running_app.url}/accounts/login/", timeout=5)

    assert response.status_code == 200
    assert "Log in to DayFlow" in response.text
    assert "whitenoise" not in response.text
    css = requests.get(f"{running_app.url}/static/css/app.css", timeout=5)
    assert css.status_code == 200  # static files through whitenoise under gunicorn


def test_demo_login_and_admin_lists_the_eight_services(running_app):
    session = login(running_app)

    services = session.get(f"{running_app.url}/admin/integrations/service/", timeout=5).text
    for name in [
        "Notion",
        "ClickUp",
        "Linear",
        "Todoist",
        "Google Calendar",
        "Microsoft Outlook",
        "Apple Calendar",
        "Fastmail",
    ]:
        assert name in services


def test_worker_and_beat_are_alive(running_app):
    def heartbeat_seen():
        body = requests.get(f"{running_app.url}/healthz", timeout=5).json()
        return body["status"] == "ok" and body["worker_heartbeat"] is not None

    wait_until(heartbeat_seen, 60, running_app.log)


def test_ctrl_c_stops_web_worker_and_beat(running_app):
    before = len(running_app.log.read_text())
    os.killpg(running_app.process.pid, signal.SIGINT)

    assert running_app.process.wait(timeout=30) == 0
    shutdown_log = running_app.log.read_text()[before:]
    assert "Traceback" not in shutdown_log, shutdown_log
    assert "exited with" not in shutdown_log, shutdown_log
