"""README command 1 on the embedded defaults: login page, demo login, admin, worker and beat;
its help, and a later start on the same data."""

import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from tests.e2e.conftest import ROOT, run_py, stop, wait_until


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
    # A minute on an idle machine; CI's two cores shared with other suites stretch it.
    limit = 60 * running_app.busy
    assert running_app.started_in < limit or os.environ.get("CI") != "true"
    response = requests.get(f"{running_app.url}/accounts/login/", timeout=5)

    assert response.status_code == 200
    assert "Log in to DayFlow" in response.text
    assert "whitenoise" not in response.text
    css = requests.get(f"{running_app.url}/static/css/app.css", timeout=5)
    assert css.status_code == 200  # static files through whitenoise under gunicorn


def test_the_api_docs_are_served_with_their_assets(running_app):
    session = login(running_app)
    html = session.get(f"{running_app.url}/api/docs/", timeout=5).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)

    assert any("swagger-ui" in asset for asset in assets), html
    for asset in assets:  # collected, hashed and served by whitenoise, not from a CDN
        assert session.get(f"{running_app.url}{asset}", timeout=5).status_code == 200, asset


def test_favicon_ico_is_served(running_app):
    response = requests.get(f"{running_app.url}/favicon.ico", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")


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
    body = requests.get(f"{running_app.url}/healthz", timeout=5).json()
    assert (body["worker"], body["beat"]) == ("ok", "ok")
    assert body["beat_age_seconds"] < 60


def test_prints_the_demo_login_once_the_web_server_answers(running_app):
    log = running_app.log.read_text()

    login = log.index(f"Demo account created: {running_app.username} / {running_app.password}")
    assert log.count("Demo account created") == 1
    assert re.search(r"Listening at: http://127\.0\.0\.1:\d+", log[:login]), log
    # run.py asked /healthz before printing; gunicorn writes its access line from another
    # process, so that line may land on either side of the login in the shared log.
    assert "GET /healthz" in log
    assert "DayFlow is running: open " in log[:login]


@pytest.mark.parametrize("argument", ["--help", "-h", "help"])
def test_help_prints_the_usage(argument):
    done = subprocess.run(
        [sys.executable, "run.py", argument], cwd=ROOT, capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python3 run.py")
    assert "python3 run.py test" in done.stdout


def test_an_unknown_command_exits_2_with_the_usage():
    done = subprocess.run(
        [sys.executable, "run.py", "srve"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 2
    assert "unknown command 'srve'" in done.stderr
    assert "usage: python3 run.py" in done.stderr
    assert done.stdout == ""


def test_ctrl_c_stops_web_worker_and_beat(running_app):
    before = len(running_app.log.read_text())
    os.killpg(running_app.process.pid, signal.SIGINT)

    assert running_app.process.wait(timeout=30) == 0
    shutdown_log = running_app.log.read_text()[before:]
    assert "Traceback" not in shutdown_log, shutdown_log
    assert "exited with" not in shutdown_log, shutdown_log


def test_a_later_start_says_how_to_set_a_new_password(running_app):
    log = running_app.var_dir / "run-again.log"
    process, _ = run_py(running_app.var_dir, log)
    try:
        wait_until(lambda: "To set a new password" in log.read_text(), 90, log)
        output = log.read_text()
    finally:
        stop(process)

    assert "Demo account created" not in output
    assert "Demo account: demo (its password was printed on first run)" in output
    assert re.search(r"To set a new password: \S*python\S* manage\.py changepassword demo", output)
    assert output.index("DayFlow is running: open ") < output.index("To set a new password")
