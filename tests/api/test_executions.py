"""Executions: listing and paging, one with its steps, cancel, retry and resume, and artifacts."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from shared.artifacts import artifact_store
from shared.db.crud import create_workflow
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import Execution, ExecutionEvent, StepRun, Workflow
from shared.engine.runner import WorkflowRunner
from shared.vault import InMemoryCredentialProvider
from tests.support.http_server import Reply

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}
NOW = datetime.now(UTC).replace(microsecond=123456)


def make_workflow(engine, owner_id, definition=GREET, status="active") -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "wf", definition, status=status)
        session.commit()
        return workflow.id


def add_execution(engine, workflow_id, owner_id, **fields) -> uuid.UUID:
    with Session(engine) as session:
        execution = Execution(workflow_id=workflow_id, version=1, owner_id=owner_id, **{"trigger": "api", **fields})
        session.add(execution)
        session.commit()
        return execution.id


def add_step(engine, execution_id, node_id, **fields) -> None:
    with Session(engine) as session:
        session.add(StepRun(execution_id=execution_id, node_id=node_id, node_type="text.combine", **fields))
        session.commit()


def execution_row(engine, execution_id) -> Execution:
    with Session(engine) as session:
        return session.get(Execution, execution_id)


def children_of(engine, parent_id) -> list[Execution]:
    with Session(engine) as session:
        return list(session.exec(select(Execution).where(Execution.parent_execution_id == parent_id)).all())


@pytest.fixture
def workflow_id(caller, engine) -> uuid.UUID:
    return make_workflow(engine, caller.user_id)


# --- listing -------------------------------------------------------------------------------------


def test_executions_are_listed_newest_first_across_cursor_pages(caller, engine, workflow_id):
    same_time = NOW - timedelta(minutes=3)
    times = [NOW, NOW - timedelta(minutes=1), same_time, same_time, same_time, NOW - timedelta(hours=5)]
    ids = [add_execution(engine, workflow_id, caller.user_id, queued_at=at) for at in times]
    expected = [
        str(i) for _, i in sorted(zip(times, ids, strict=True), key=lambda pair: (pair[0], pair[1]), reverse=True)
    ]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = caller.client.get("/api/executions", params=params).json()
        assert page["count"] == 6
        seen += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == expected


def test_executions_are_filtered_by_workflow_status_and_trigger(caller, engine, workflow_id):
    other_workflow = make_workflow(engine, caller.user_id)
    wanted = add_execution(engine, workflow_id, caller.user_id, status="failed", trigger="webhook")
    add_execution(engine, workflow_id, caller.user_id, status="failed", trigger="api")
    add_execution(engine, workflow_id, caller.user_id, status="succeeded", trigger="webhook")
    add_execution(engine, other_workflow, caller.user_id, status="failed", trigger="webhook")

    page = caller.client.get(
        "/api/executions", params={"workflow_id": str(workflow_id), "status": "failed", "trigger": "webhook"}
    ).json()

    assert [item["id"] for item in page["data"]] == [str(wanted)]
    assert (page["count"], page["next_cursor"]) == (1, None)


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", base64.urlsafe_b64encode(b'["2026-01-01T00:00:00", "x"]').decode(), base64.urlsafe_b64encode(b"7")],
    ids=["not-base64", "naive-time", "not-a-pair"],
)
def test_a_cursor_this_api_did_not_hand_out_is_400(caller, cursor):
    response = caller.client.get("/api/executions", params={"cursor": cursor})

    assert response.status_code == 400


@pytest.mark.parametrize("params", [{"status": "sleeping"}, {"trigger": "cron"}, {"limit": 0}, {"workflow_id": "x"}])
def test_an_invalid_filter_is_422(caller, params):
    assert caller.client.get("/api/executions", params=params).status_code == 422


def test_a_stranger_lists_none_of_the_callers_executions(caller, stranger, engine, workflow_id):
    add_execution(engine, workflow_id, caller.user_id)

    page = stranger.client.get("/api/executions", params={"workflow_id": str(workflow_id)}).json()

    assert (page["data"], page["count"]) == ([], 0)


# --- one execution -------------------------------------------------------------------------------


def test_an_execution_comes_with_its_steps_in_the_order_they_started(caller, engine, workflow_id):
    execution_id = add_execution(engine, workflow_id, caller.user_id, status="running", input={"q": 1}, started_at=NOW)
    add_step(engine, execution_id, "second", status="running", started_at=NOW + timedelta(seconds=2))
    add_step(engine, execution_id, "waiting", status="pending")
    add_step(
        engine,
        execution_id,
        "first",
        status="succeeded",
        attempt=1,
        input={"a": 1},
        output={"text": "hi"},
        credits=2,
        started_at=NOW,
        finished_at=NOW + timedelta(milliseconds=1500),
    )

    body = caller.client.get(f"/api/executions/{execution_id}").json()

    assert (body["status"], body["input"], body["output"]) == ("running", {"q": 1}, None)
    assert [step["node_id"] for step in body["steps"]] == ["first", "second", "waiting"]
    first = body["steps"][0]
    assert (first["status"], first["attempt"], first["input"], first["output"]) == (
        "succeeded",
        1,
        {"a": 1},
        {"text": "hi"},
    )
    assert (first["credits"], first["duration_ms"], first["error"]) == (2, 1500, None)
    assert body["steps"][1]["duration_ms"] is None


def test_an_unknown_execution_is_404(caller):
    response = caller.client.get(f"/api/executions/{uuid.uuid4()}")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


# --- cancel --------------------------------------------------------------------------------------


def test_a_queued_execution_is_cancelled_at_once_and_never_claimed(caller, engine, workflow_id):
    execution_id = add_execution(engine, workflow_id, caller.user_id)

    response = caller.client.post(f"/api/executions/{execution_id}/cancel")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("cancelled", True)
    assert execution_row(engine, execution_id).finished_at is not None
    assert SqlExecutionStore(engine).claim(execution_id, "late-worker") is False
    with Session(engine) as session:
        events = session.exec(select(ExecutionEvent).where(ExecutionEvent.execution_id == execution_id)).all()
    assert [(e.seq, e.type, e.payload["status"]) for e in events] == [(1, "run_finished", "cancelled")]


def test_a_running_execution_is_flagged_for_its_runner(caller, engine, workflow_id):
    execution_id = add_execution(engine, workflow_id, caller.user_id, status="running", started_at=NOW)

    body = caller.client.post(f"/api/executions/{execution_id}/cancel").json()

    assert (body["status"], body["cancel_requested"]) == ("running", True)


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_a_finished_execution_cannot_be_cancelled(caller, engine, workflow_id, status):
    execution_id = add_execution(engine, workflow_id, caller.user_id, status=status, finished_at=NOW)

    response = caller.client.post(f"/api/executions/{execution_id}/cancel")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "execution_finished")
    assert execution_row(engine, execution_id).cancel_requested is False


# --- retry and resume ----------------------------------------------------------------------------


def test_a_retry_is_a_new_dispatched_execution_of_the_same_version_and_input(caller, engine, services, workflow_id):
    parent_id = add_execution(engine, workflow_id, caller.user_id, status="succeeded", input={"n": 3})

    response = caller.client.post(f"/api/executions/{parent_id}/retry", json={"trigger": "manual"})

    assert response.status_code == 202
    [child] = children_of(engine, parent_id)
    assert response.json() == {"execution_id": str(child.id), "status": "queued", "lane": "light"}
    assert response.headers["location"] == f"/api/executions/{child.id}"
    assert (child.version, child.input, child.trigger, child.status) == (1, {"n": 3}, "manual", "queued")
    assert services.dispatcher.get(timeout=1).execution_id == child.id
    assert execution_row(engine, child.id).dispatched_at is not None


@pytest.mark.parametrize("action", ["retry", "resume"])
@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_unfinished_execution_is_neither_retried_nor_resumed(caller, engine, workflow_id, action, status):
    parent_id = add_execution(engine, workflow_id, caller.user_id, status=status)

    assert caller.client.post(f"/api/executions/{parent_id}/{action}").status_code == 409
    assert children_of(engine, parent_id) == []


def test_a_succeeded_execution_is_not_resumed(caller, engine, workflow_id):
    parent_id = add_execution(engine, workflow_id, caller.user_id, status="succeeded")

    response = caller.client.post(f"/api/executions/{parent_id}/resume")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "execution_not_resumable")


def test_an_execution_of_an_archived_workflow_is_not_retried(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id, status="archived")
    parent_id = add_execution(engine, workflow_id, caller.user_id, status="failed")

    assert caller.client.post(f"/api/executions/{parent_id}/retry").status_code == 409
    assert children_of(engine, parent_id) == []


def test_resume_copies_only_succeeded_steps_free_of_charge(caller, engine, workflow_id):
    parent_id = add_execution(engine, workflow_id, caller.user_id, status="failed", input={"n": 1})
    add_step(engine, parent_id, "a", status="succeeded", attempt=2, output={"text": "A"}, credits=1, started_at=NOW)
    add_step(engine, parent_id, "b", status="failed", attempt=1, error="boom", credits=1, started_at=NOW)
    add_step(engine, parent_id, "c", status="skipped", started_at=NOW)

    response = caller.client.post(f"/api/executions/{parent_id}/resume")

    assert response.status_code == 202
    [child] = children_of(engine, parent_id)
    assert (child.status, child.input) == ("queued", {"n": 1})
    steps = caller.client.get(f"/api/executions/{child.id}").json()["steps"]
    assert [(s["node_id"], s["status"], s["attempt"], s["output"], s["credits"]) for s in steps] == [
        ("a", "succeeded", 2, {"text": "A"}, 0)
    ]


def http_chain(server) -> dict:
    return {
        "nodes": [{"id": n, "type": "http.request", "config": {"url": server.url(f"/{n}")}} for n in ("a", "b", "c")],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
    }


def calls(server, path: str) -> int:
    return sum(1 for request in server.received if request.path == path)


async def run_claimed(engine, settings, execution_id):
    store = SqlExecutionStore(engine)
    assert store.claim(execution_id, "test-worker")
    return await WorkflowRunner(store, settings=settings, credentials=InMemoryCredentialProvider()).run(execution_id)


async def test_a_resumed_execution_runs_only_the_step_that_failed(caller, engine, settings, server):
    server.route("/a", Reply(body={"from": "a"}))
    server.route("/b", lambda request: Reply(status=400 if calls(server, "/b") == 1 else 200, body={"from": "b"}))
    server.route("/c", Reply(body={"from": "c"}))
    workflow_id = make_workflow(engine, caller.user_id, http_chain(server))
    parent_id = uuid.UUID(caller.client.post(f"/api/workflows/{workflow_id}/runs").json()["execution_id"])
    assert (await run_claimed(engine, settings, parent_id)).status == "failed"

    child_id = uuid.UUID(caller.client.post(f"/api/executions/{parent_id}/resume").json()["execution_id"])
    outcome = await run_claimed(engine, settings, child_id)

    assert outcome.status == "succeeded"
    assert (calls(server, "/a"), calls(server, "/b"), calls(server, "/c")) == (1, 2, 1)
    assert outcome.steps["a"].reused and outcome.steps["a"].output["body"] == {"from": "a"}
    assert execution_row(engine, child_id).credits_used == 2


# --- artifacts -----------------------------------------------------------------------------------


def test_an_artifact_is_downloaded_with_its_content_type(caller, engine, services, workflow_id):
    execution_id = add_execution(engine, workflow_id, caller.user_id)
    store = artifact_store(services.settings, engine)
    artifact = store.put(caller.user_id, execution_id, "shot", "screenshot", "image/png", b"\x89PNG-bytes")

    response = caller.client.get(f"/api/artifacts/{artifact.id}")

    assert response.status_code == 200
    assert (response.content, response.headers["content-type"]) == (b"\x89PNG-bytes", "image/png")
    assert response.headers["x-content-type-options"] == "nosniff"
    with store.open(artifact) as stored:
        assert stored.read() == b"\x89PNG-bytes"


def test_an_artifact_whose_content_is_gone_is_404(caller, engine, services, workflow_id):
    store = artifact_store(services.settings, engine)
    artifact = store.put(caller.user_id, None, None, "output", "application/json", b"{}")
    store.path(artifact).unlink()

    assert caller.client.get(f"/api/artifacts/{artifact.id}").status_code == 404


def test_an_unknown_artifact_is_404(caller):
    assert caller.client.get(f"/api/artifacts/{uuid.uuid4()}").status_code == 404


# --- isolation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("POST", "/cancel"), ("POST", "/retry"), ("POST", "/resume")],
    ids=["get", "cancel", "retry", "resume"],
)
def test_a_stranger_gets_404_for_the_callers_execution_and_nothing_changes(
    caller, stranger, engine, services, workflow_id, method, path
):
    execution_id = add_execution(engine, workflow_id, caller.user_id, status="failed", finished_at=NOW)
    add_step(engine, execution_id, "a", status="succeeded", started_at=NOW)

    response = stranger.client.request(method, f"/api/executions/{execution_id}{path}")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert (execution_row(engine, execution_id).status, children_of(engine, execution_id)) == ("failed", [])
    assert services.dispatcher.qsize() == 0


def test_a_stranger_cannot_download_the_callers_artifact(caller, stranger, engine, services):
    artifact = artifact_store(services.settings, engine).put(caller.user_id, None, None, "output", "text/plain", b"x")

    assert stranger.client.get(f"/api/artifacts/{artifact.id}").status_code == 404


def test_a_workflow_deleted_under_an_execution_takes_it_along(caller, engine, workflow_id):
    execution_id = add_execution(engine, workflow_id, caller.user_id)
    with Session(engine) as session:
        session.delete(session.get(Workflow, workflow_id))
        session.commit()

    assert caller.client.get(f"/api/executions/{execution_id}").status_code == 404
