"""The Content-Security-Policy in Chromium: every page of the tour (tests/dayflow/
test_browser_tour.py's TOUR, with its seeded data), the htmx pages after a poll, the admin and
the API docs (Swagger UI) log no violation."""

from __future__ import annotations

import pytest
import time_machine

from tests.dayflow.test_browser_tour import NOW, TOUR, _sign_in, seeded  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || ""}:${e.lineNumber || ""}`);
});
"""
# Pages with scripts or htmx, given time to run (a poll, Swagger UI's rendering).
ADMIN = [
    "/admin/",
    "/admin/auth/user/",
    "/admin/auth/user/{user}/change/",
    "/admin/axes/accessattempt/",
    "/admin/integrations/connection/",
]


def violations(page, console: list[str]) -> list[str]:
    found = page.evaluate("window.__cspViolations || []")
    return found + [text for text in console if "Content Security Policy" in text]


def test_no_page_logs_a_csp_violation(browser, live_server, user, seeded):  # noqa: F811
    user.is_staff = user.is_superuser = True
    user.save()
    problems: dict[str, list[str]] = {}
    with time_machine.travel(NOW, tick=True):
        context = browser.new_context()
        context.add_init_script(LISTEN)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        signed_in = False
        paths = [(stop.path.format(**seeded), stop.signed_in) for stop in TOUR]
        paths += [(path.format(user=user.pk), True) for path in ADMIN]
        paths += [("/api/docs/", True)]
        for path, needs_sign_in in paths:
            if needs_sign_in and not signed_in:
                _sign_in(context, user, live_server.url)
                signed_in = True
            console.clear()
            answer = page.goto(live_server.url + path)
            assert answer is not None, path
            assert answer.status == 200, (path, answer.status)
            if path == "/api/docs/":
                page.wait_for_selector(".swagger-ui .info", timeout=15000)
            if path.startswith(("/integrations/", "/sync/jobs/")):
                page.wait_for_timeout(300)
            problems[path] = violations(page, console)
        # The dashboard's htmx after a poll: its cards swap in under the policy too.
        page.goto(live_server.url + "/integrations/")
        page.wait_for_function("window.htmx !== undefined")
        page.evaluate("htmx.trigger(document.body, 'load')")
        problems["/integrations/ (htmx)"] = violations(page, console)
        assert page.evaluate("document.querySelectorAll('style').length") == 0
        context.close()

    failing = {path: found for path, found in problems.items() if found}
    assert not failing, failing
