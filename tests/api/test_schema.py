"""The schema is the contract: the committed `docs/openapi.yaml` is what the code generates (a
change to the API shows in review as a change to that file), it is valid with no warning, and
the schema and its docs page are served without the internet."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.management.commands.spectacular import SchemaGenerationError

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.yaml"
REGENERATE = (
    "The API's schema changed: run `python3 run.py schema` (or `python manage.py spectacular "
    "--validate --fail-on-warn --file docs/openapi.yaml`) and commit docs/openapi.yaml."
)


def test_the_committed_schema_is_the_generated_one(tmp_path):
    generated = tmp_path / "openapi.yaml"
    try:
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    except SchemaGenerationError:
        pytest.fail("The schema has warnings (printed above): fix them in the API's code.")

    assert COMMITTED.exists(), REGENERATE
    assert generated.read_text() == COMMITTED.read_text(), REGENERATE


def test_every_operation_has_a_summary_and_a_security_scheme():
    schema = yaml.safe_load(COMMITTED.read_text())
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]

    assert operations
    assert [(p, m) for p, m, op in operations if not op.get("summary")] == []
    assert [(p, m) for p, m, op in operations if {"apiToken": []} not in op["security"]] == []


def test_the_schema_is_served_without_the_network(local_network_only, client, user):
    client.force_login(user)
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert (
        yaml.safe_load(response.content)["paths"] == yaml.safe_load(COMMITTED.read_text())["paths"]
    )


def test_the_docs_page_is_served_without_the_network(local_network_only, client, user):
    client.force_login(user)
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content


@pytest.mark.parametrize("path", ["/api/tokens/0.5", "/api/no-such-thing"])
def test_a_path_under_api_that_matches_no_route_is_a_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_does_not_exist_is_still_a_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_operation_documents_its_errors():
    schema = yaml.safe_load(COMMITTED.read_text())
    tokens = schema["paths"]["/api/tokens/{id}"]

    assert {"401", "404", "429"} <= set(tokens["get"]["responses"])
    assert "400" in schema["paths"]["/api/tokens"]["post"]["responses"]
    assert schema["components"]["schemas"]["Error"]["properties"]["detail"] == {"type": "string"}
