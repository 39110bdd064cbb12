"""Templates: the starter workflows, their validity and offline runs, and instantiating one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.cli.files import WorkflowFile
from shared.cli.local_run import run_workflow_file
from shared.engine.validation import validate_definition
from shared.nodes import default_registry
from shared.settings import Settings
from shared.starters import load_starters

STARTER_IDS = [starter.id for starter in load_starters()]


def test_there_are_at_least_four_starters():
    assert len(STARTER_IDS) >= 4


@pytest.mark.parametrize("starter", load_starters(), ids=STARTER_IDS)
def test_every_starter_is_a_valid_definition(starter):
    _, issues = validate_definition(starter.definition, default_registry())

    assert issues == []
    assert starter.name and starter.description


OFFLINE = [starter for starter in load_starters() if not starter.credentials]
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("starter", OFFLINE, ids=[starter.id for starter in OFFLINE])
async def test_every_starter_without_credentials_runs_offline_with_no_input(starter, tmp_path):
    settings = Settings(data_dir=tmp_path)

    outcome = await run_workflow_file(WorkflowFile(starter.name, starter.description, starter.definition), {}, settings)

    assert outcome.status == "succeeded", outcome.error
    assert outcome.output


@pytest.mark.parametrize("starter", [s for s in load_starters() if s.credentials], ids=lambda s: s.id)
def test_a_starter_with_credentials_is_a_tested_integration_example(starter):
    example = json.loads((REPO / "examples" / "integrations" / f"{starter.id}.json").read_text())

    assert example["definition"] == starter.definition


def test_some_starters_use_the_integrations_and_most_run_offline():
    assert 3 <= len(STARTER_IDS) - len(OFFLINE) < len(OFFLINE)


def test_the_list_summarises_each_template(caller):
    response = caller.client.get("/api/templates")

    body = response.json()
    assert response.status_code == 200
    assert [t["id"] for t in body] == STARTER_IDS
    lead = next(t for t in body if t["id"] == "lead-router")
    assert lead == {
        "id": "lead-router",
        "name": "Lead router",
        "description": lead["description"],
        "node_count": 4,
        "lane": "light",
        "credit_estimate": 0,
        "credentials": [],
        "definition": None,
    }
    triage = next(t for t in body if t["id"] == "triage-support-message")
    assert triage["credentials"] == ["openai-main", "slack-support", "twilio-main"]


def test_one_template_comes_with_its_definition(caller):
    body = caller.client.get("/api/templates/order-summary").json()

    assert body["name"] == "Order summary"
    assert [node["id"] for node in body["definition"]["nodes"]] == ["orders", "totals", "unpaid", "report"]


@pytest.mark.parametrize("template_id", ["no-such-template", "x" * 100, "lead-router.json", "__init__"])
def test_an_unknown_template_is_404(caller, template_id):
    response = caller.client.get(f"/api/templates/{template_id}")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "template not found"


def test_an_overlong_template_id_is_422(caller):
    response = caller.client.get(f"/api/templates/{'x' * 101}")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.template_id"


def test_instantiating_creates_a_draft_workflow_for_the_caller(caller, stranger):
    response = caller.client.post("/api/templates/lead-router/instantiate")

    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/workflows/{body['id']}"
    assert (body["name"], body["status"], body["current_version"]) == ("Lead router", "draft", 1)
    assert body["definition"] == caller.client.get("/api/templates/lead-router").json()["definition"]
    assert caller.client.get(f"/api/workflows/{body['id']}").status_code == 200
    assert stranger.client.get(f"/api/workflows/{body['id']}").status_code == 404


def test_instantiating_takes_an_optional_name(caller):
    body = caller.client.post("/api/templates/order-summary/instantiate", json={"name": "Monday orders"}).json()

    assert body["name"] == "Monday orders"


def test_changing_an_instantiated_workflow_leaves_the_template_alone(caller):
    created = caller.client.post("/api/templates/lead-router/instantiate").json()
    definition = created["definition"]
    definition["nodes"][0]["config"]["fields"]["source"] = "api"

    caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": definition})

    template = caller.client.get("/api/templates/lead-router").json()["definition"]
    assert "source" not in template["nodes"][0]["config"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"), [({"name": ""}, "name"), ({"name": "n" * 201}, "name"), ({"title": "x"}, "title")]
)
def test_a_malformed_instantiate_body_is_422(caller, body, field):
    response = caller.client.post("/api/templates/lead-router/instantiate", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


def test_instantiating_an_unknown_template_is_404_and_creates_nothing(caller):
    response = caller.client.post("/api/templates/nope/instantiate")

    assert response.status_code == 404
    assert caller.client.get("/api/workflows").json()["count"] == 0


def test_templates_need_an_api_key(anonymous):
    assert anonymous.get("/api/templates").status_code == 401
