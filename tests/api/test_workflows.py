"""Workflows over HTTP: CRUD, versions and rollback, export / import, validation, owner isolation."""

from __future__ import annotations

import copy
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from shared.db import workflow_crud
from shared.db.crud import queue_execution
from shared.db.models import Execution, Workflow, WorkflowVersion

GREETING = {
    "nodes": [
        {"id": "person", "type": "data.map", "config": {"fields": {"name": "{{ input.name }}"}}},
        {"id": "sentence", "type": "text.combine", "config": {"parts": ["Hello ", "{{ nodes.person.output.name }}"]}},
    ],
    "edges": [{"from": "person", "to": "sentence"}],
}
FETCH = {"nodes": [{"id": "fetch", "type": "http.request", "config": {"url": "https://api.example.com/items"}}]}


def create(caller, name: str = "greeting", definition: dict | None = None, **fields) -> dict:
    body = {"name": name, "definition": definition or GREETING, **fields}
    response = caller.client.post("/api/workflows", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def renamed(definition: dict, text: str) -> dict:
    changed = copy.deepcopy(definition)
    changed["nodes"][1]["config"]["parts"][0] = text
    return changed


# --- create and read ------------------------------------------------------------------------------


def test_creating_a_workflow_answers_201_with_its_location_and_version_1(caller):
    response = caller.client.post("/api/workflows", json={"name": "greeting", "definition": GREETING})

    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/workflows/{body['id']}"
    assert (body["name"], body["status"], body["current_version"]) == ("greeting", "draft", 1)
    assert body["definition"] == GREETING
    assert (body["cron"], body["schedule_enabled"], body["has_webhook"]) == (None, False, False)


def test_a_workflow_reports_its_lane_and_credit_estimate(caller):
    body = create(caller, definition=FETCH)

    assert (body["lane"], body["credit_estimate"]) == ("light", 1)


def test_get_returns_the_workflow_with_its_current_definition(caller):
    created = create(caller, description="says hello", status="active")

    body = caller.client.get(f"/api/workflows/{created['id']}").json()

    assert body == created


def test_an_invalid_definition_is_422_with_every_issue_naming_node_and_field(caller):
    definition = {
        "nodes": [
            {"id": "a", "type": "no.such.type"},
            {"id": "b", "type": "http.request", "config": {}},
            {"id": "b", "type": "text.combine", "config": {"parts": []}},
        ],
        "edges": [{"from": "a", "to": "ghost"}],
    }

    response = caller.client.post("/api/workflows", json={"name": "broken", "definition": definition})

    error = response.json()["error"]
    assert response.status_code == 422
    assert error["code"] == "validation_error"
    found = {(d["node"], d["field"]) for d in error["details"]}
    assert {("a", "type"), ("b", "config.url"), ("b", "nodes[2].id"), ("a", "edges[0].to")} <= found
    assert all(d["message"] for d in error["details"])
    assert caller.client.get("/api/workflows").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"definition": GREETING}, "name"),
        ({"name": "", "definition": GREETING}, "name"),
        ({"name": "x" * 201, "definition": GREETING}, "name"),
        ({"name": 12, "definition": GREETING}, "name"),
        ({"name": "a\x00b", "definition": GREETING}, "name"),
        ({"name": "ok", "description": "d" * 10_001, "definition": GREETING}, "description"),
        ({"name": "ok", "definition": [1, 2]}, "definition"),
        ({"name": "ok", "definition": "nodes"}, "definition"),
        ({"name": "ok", "definition": GREETING, "status": "archived"}, "status"),
        ({"name": "ok", "definition": GREETING, "owner_id": str(uuid.uuid4())}, "owner_id"),
        (
            {"name": "ok", "definition": {"nodes": [{"id": "a", "type": "x", "config": {"t": "y" * 300_000}}]}},
            "definition",
        ),
    ],
)
def test_a_malformed_create_body_is_422_naming_the_field(caller, body, field):
    response = caller.client.post("/api/workflows", json=body)

    assert response.status_code == 422
    assert field in {detail["field"] for detail in response.json()["error"]["details"]}


def test_nan_in_a_definition_is_422_not_a_server_error(caller):
    raw = '{"name": "nan", "definition": {"nodes": [{"id": "d", "type": "flow.delay", "config": {"seconds": NaN}}]}}'

    response = caller.client.post("/api/workflows", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "definition"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"name": "\\ud800", "definition": {"nodes": []}}', "name"),
        ('{"name": "ok", "definition": {"nodes": [{"id": "a", "type": "\\udfff"}]}}', "definition"),
    ],
)
def test_text_that_is_not_valid_unicode_is_422(caller, raw, field):
    response = caller.client.post("/api/workflows", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


def test_a_malformed_workflow_id_is_422_naming_the_field(caller):
    response = caller.client.get("/api/workflows/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.workflow_id"


def test_an_unknown_workflow_id_is_404(caller):
    response = caller.client.get(f"/api/workflows/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "workflow not found", "details": []}


def test_workflows_need_an_api_key(anonymous):
    assert anonymous.get("/api/workflows").status_code == 401


# --- list, search, filter, pages ------------------------------------------------------------------


def test_the_list_is_sorted_by_last_update_and_leaves_definitions_out(caller):
    first, second = create(caller, "first"), create(caller, "second")
    caller.client.patch(f"/api/workflows/{first['id']}", json={"description": "touched"})

    body = caller.client.get("/api/workflows").json()

    assert [w["id"] for w in body["data"]] == [first["id"], second["id"]]
    assert body["count"] == 2
    assert all(w["definition"] is None and w["lane"] == "light" for w in body["data"])


def test_search_matches_name_or_description_ignoring_case(caller):
    create(caller, "Daily Report")
    create(caller, "cleanup", description="Prunes old REPORTS")
    create(caller, "unrelated")

    names = {w["name"] for w in caller.client.get("/api/workflows", params={"q": "report"}).json()["data"]}

    assert names == {"Daily Report", "cleanup"}


def test_search_treats_like_wildcards_literally(caller):
    create(caller, "100% done")
    create(caller, "100 done")

    names = [w["name"] for w in caller.client.get("/api/workflows", params={"q": "0%"}).json()["data"]]

    assert names == ["100% done"]


def test_the_status_filter_picks_one_status(caller):
    create(caller, "drafty")
    create(caller, "live", status="active")

    names = [w["name"] for w in caller.client.get("/api/workflows", params={"status": "active"}).json()["data"]]

    assert names == ["live"]


def test_archived_workflows_are_listed_only_when_asked_for(caller):
    kept, archived = create(caller, "kept"), create(caller, "old")
    caller.client.post(f"/api/workflows/{archived['id']}/archive")

    default = [w["id"] for w in caller.client.get("/api/workflows").json()["data"]]
    asked = [w["id"] for w in caller.client.get("/api/workflows", params={"status": "archived"}).json()["data"]]

    assert (default, asked) == ([kept["id"]], [archived["id"]])


def test_pages_follow_limit_and_offset_and_count_every_match(caller):
    ids = [create(caller, f"w{i}")["id"] for i in range(5)][::-1]

    first = caller.client.get("/api/workflows", params={"limit": 2}).json()
    last = caller.client.get("/api/workflows", params={"limit": 2, "offset": 4}).json()

    assert ([w["id"] for w in first["data"]], first["count"]) == (ids[:2], 5)
    assert [w["id"] for w in last["data"]] == ids[4:]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"offset": 10**30}, "query.offset"),
        ({"status": "deleted"}, "query.status"),
        ({"q": "x" * 201}, "query.q"),
        ({"q": "a\x00"}, "query.q"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(caller, params, field):
    response = caller.client.get("/api/workflows", params=params)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


# --- update, archive, delete ------------------------------------------------------------------------


def test_patching_the_name_changes_it_without_a_new_version(caller):
    created = create(caller)

    body = caller.client.patch(f"/api/workflows/{created['id']}", json={"name": "renamed"}).json()

    assert (body["name"], body["current_version"]) == ("renamed", 1)
    assert body["updated_at"] > created["updated_at"]


def test_a_changed_definition_makes_a_new_version(caller):
    created = create(caller)

    body = caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": renamed(GREETING, "Hi ")}).json()

    assert body["current_version"] == 2
    assert body["definition"] == renamed(GREETING, "Hi ")


def test_an_unchanged_definition_makes_no_version(caller):
    created = create(caller)

    body = caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": GREETING}).json()

    assert body["current_version"] == 1
    assert caller.client.get(f"/api/workflows/{created['id']}/versions").json()["count"] == 1


def test_an_invalid_definition_in_a_patch_is_422_and_changes_nothing(caller):
    created = create(caller)
    broken = {"nodes": [{"id": "x", "type": "http.request", "config": {"method": "FETCH"}}]}

    response = caller.client.patch(f"/api/workflows/{created['id']}", json={"name": "new", "definition": broken})

    details = response.json()["error"]["details"]
    assert response.status_code == 422
    assert {(d["node"], d["field"]) for d in details} == {("x", "config.url"), ("x", "config.method")}
    assert caller.client.get(f"/api/workflows/{created['id']}").json() == created


def test_a_patch_with_unknown_fields_is_422(caller):
    created = create(caller)

    response = caller.client.patch(f"/api/workflows/{created['id']}", json={"current_version": 7})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "current_version"


def test_archiving_sets_the_status_and_switches_the_schedule_off(caller):
    created = create(caller)
    caller.client.put(f"/api/workflows/{created['id']}/schedule", json={"cron": "@daily"})

    body = caller.client.post(f"/api/workflows/{created['id']}/archive").json()

    assert (body["status"], body["cron"], body["schedule_enabled"], body["next_run_at"]) == (
        "archived",
        "@daily",
        False,
        None,
    )


def test_patching_the_status_to_archived_also_switches_the_schedule_off(caller):
    created = create(caller)
    caller.client.put(f"/api/workflows/{created['id']}/schedule", json={"cron": "@daily"})

    body = caller.client.patch(f"/api/workflows/{created['id']}", json={"status": "archived"}).json()

    assert (body["status"], body["schedule_enabled"], body["next_run_at"]) == ("archived", False, None)


def test_delete_answers_204_and_cascades_to_versions_and_executions(caller, engine):
    created = create(caller)
    workflow_id = uuid.UUID(created["id"])
    with Session(engine) as session:
        queue_execution(session, session.get(Workflow, workflow_id), trigger="manual")
        session.commit()

    response = caller.client.delete(f"/api/workflows/{created['id']}")

    assert (response.status_code, response.content) == (204, b"")
    assert caller.client.get(f"/api/workflows/{created['id']}").status_code == 404
    with Session(engine) as session:
        assert session.exec(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)).all() == []
        assert session.exec(select(Execution).where(Execution.workflow_id == workflow_id)).all() == []


# --- versions and rollback ---------------------------------------------------------------------------


def test_versions_are_listed_newest_first(caller):
    created = create(caller)
    for text in ("Hi ", "Hey "):
        caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": renamed(GREETING, text)})

    body = caller.client.get(f"/api/workflows/{created['id']}/versions").json()

    assert [v["version"] for v in body["data"]] == [3, 2, 1]
    assert [v["current"] for v in body["data"]] == [True, False, False]
    assert body["count"] == 3 and body["data"][0]["node_count"] == 2


def test_concurrent_definition_changes_each_get_their_own_version(caller):
    created = create(caller)

    def change(index: int) -> int:
        body = {"definition": renamed(GREETING, f"Hello #{index} ")}
        return caller.client.patch(f"/api/workflows/{created['id']}", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(change, range(8)))

    versions = caller.client.get(f"/api/workflows/{created['id']}/versions").json()["data"]
    assert statuses == [200] * 8
    assert [v["version"] for v in versions] == list(range(9, 0, -1))


def test_an_old_version_keeps_its_definition_after_later_changes(caller):
    created = create(caller)
    caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": renamed(GREETING, "Hi ")})

    first = caller.client.get(f"/api/workflows/{created['id']}/versions/1").json()

    assert (first["definition"], first["current"]) == (GREETING, False)


def test_an_unknown_version_is_404(caller):
    created = create(caller)

    response = caller.client.get(f"/api/workflows/{created['id']}/versions/9")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "version 9 of this workflow not found"


@pytest.mark.parametrize("version", ["0", "-1", "two", str(2**40)])
def test_a_malformed_version_number_is_422(caller, version):
    created = create(caller)

    response = caller.client.get(f"/api/workflows/{created['id']}/versions/{version}")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.version"


def test_rollback_appends_a_new_version_equal_to_the_old_one(caller):
    created = create(caller)
    caller.client.patch(f"/api/workflows/{created['id']}", json={"definition": renamed(GREETING, "Hi ")})

    body = caller.client.post(f"/api/workflows/{created['id']}/rollback", json={"version": 1}).json()

    assert (body["current_version"], body["definition"]) == (3, GREETING)
    versions = caller.client.get(f"/api/workflows/{created['id']}/versions").json()["data"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert caller.client.get(f"/api/workflows/{created['id']}/versions/2").json()["definition"] == renamed(
        GREETING, "Hi "
    )


def test_rollback_to_an_unknown_version_is_404_and_adds_nothing(caller):
    created = create(caller)

    response = caller.client.post(f"/api/workflows/{created['id']}/rollback", json={"version": 5})

    assert response.status_code == 404
    assert caller.client.get(f"/api/workflows/{created['id']}").json()["current_version"] == 1


@pytest.mark.parametrize("body", [{}, {"version": "latest"}, {"version": 0}, {"version": 1, "force": True}])
def test_a_malformed_rollback_body_is_422(caller, body):
    created = create(caller)

    response = caller.client.post(f"/api/workflows/{created['id']}/rollback", json=body)

    assert response.status_code == 422


# --- export, import, validate ------------------------------------------------------------------------


def test_an_export_imports_back_as_an_equal_workflow(caller):
    original = create(caller, "exported", description="round trip", definition=FETCH)

    exported = caller.client.get(f"/api/workflows/{original['id']}/export").json()
    response = caller.client.post("/api/workflows/import", json=exported)

    imported = response.json()
    assert exported["format"] == "flowbuilder.workflow/v1"
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/workflows/{imported['id']}"
    assert imported["id"] != original["id"]
    assert (imported["name"], imported["description"], imported["definition"]) == ("exported", "round trip", FETCH)


def test_import_takes_a_bare_definition_with_a_name(caller):
    response = caller.client.post("/api/workflows/import", json={"name": "bare", **GREETING})

    assert response.status_code == 201
    assert (response.json()["name"], response.json()["definition"]) == ("bare", GREETING)


@pytest.mark.parametrize(
    "body",
    [
        {"format": "zapier/v9", "name": "x", "definition": GREETING},
        {"name": "nameless definition missing"},
        {**GREETING},
    ],
)
def test_import_rejects_other_shapes_with_422(caller, body):
    assert caller.client.post("/api/workflows/import", json=body).status_code == 422


def test_import_validates_the_definition(caller):
    response = caller.client.post("/api/workflows/import", json={"name": "bad", "nodes": [{"id": "a", "type": "?"}]})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["node"] == "a"


def test_validate_reports_issues_and_saves_nothing(caller):
    response = caller.client.post("/api/workflows/validate", json={"definition": {"nodes": [{"id": "a", "type": "?"}]}})

    body = response.json()
    assert response.status_code == 200
    assert (body["valid"], body["lane"], body["credit_estimate"]) == (False, None, None)
    assert body["issues"][0]["node"] == "a" and body["issues"][0]["field"] == "type"
    assert caller.client.get("/api/workflows").json()["count"] == 0


def test_validate_gives_lane_and_credit_estimate_for_a_valid_definition(caller):
    body = caller.client.post("/api/workflows/validate", json={"definition": FETCH}).json()

    assert body == {"valid": True, "issues": [], "lane": "light", "credit_estimate": 1}


# --- owner isolation ---------------------------------------------------------------------------------

ID_ROUTES = [
    ("get", "/api/workflows/{id}", None),
    ("patch", "/api/workflows/{id}", {"name": "stolen"}),
    ("post", "/api/workflows/{id}/archive", None),
    ("delete", "/api/workflows/{id}", None),
    ("get", "/api/workflows/{id}/versions", None),
    ("get", "/api/workflows/{id}/versions/1", None),
    ("post", "/api/workflows/{id}/rollback", {"version": 1}),
    ("get", "/api/workflows/{id}/export", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_another_owners_workflow_is_404_and_stays_unchanged(caller, stranger, method, path, body):
    created = create(caller)
    before = caller.client.get(f"/api/workflows/{created['id']}").json()

    response = stranger.client.request(method, path.format(id=created["id"]), json=body)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "workflow not found"
    assert caller.client.get(f"/api/workflows/{created['id']}").json() == before


def test_another_owners_workflows_are_not_listed(caller, stranger):
    create(caller, "private")

    assert stranger.client.get("/api/workflows", params={"q": "private"}).json() == {
        "data": [],
        "count": 0,
        "next_cursor": None,
    }


# --- session-level helpers ---------------------------------------------------------------------------


def test_update_workflow_appends_a_version_only_for_a_changed_definition(caller, engine):
    with Session(engine, expire_on_commit=False) as session:
        workflow = workflow_crud.new_workflow(session, caller.user_id, "helper", GREETING)

        unchanged = workflow_crud.update_workflow(session, workflow, {"definition": copy.deepcopy(GREETING)})
        changed = workflow_crud.update_workflow(session, workflow, {"definition": renamed(GREETING, "Yo ")})

        assert (unchanged, changed, workflow.current_version) == (False, True, 2)
        assert workflow_crud.get_version(session, workflow.id, 1).definition == GREETING
        session.rollback()


def test_get_owned_workflow_hides_other_owners(caller, stranger, engine):
    with Session(engine) as session:
        workflow = workflow_crud.new_workflow(session, caller.user_id, "mine", GREETING)

        assert workflow_crud.get_owned_workflow(session, stranger.user_id, workflow.id) is None
        assert workflow_crud.get_owned_workflow(session, caller.user_id, workflow.id) is workflow
        session.rollback()
