"""After a first accepted delivery, a webhook's next deliveries are written by one conditional
statement (api.webhook_known); whatever changed in between still gets the full path's answer."""

from __future__ import annotations

import hashlib
from datetime import UTC

import pytest
from sqlmodel import Session

from api import webhook_known
from api.app import create_app
from api.services import AppServices
from api.webhook_known import known_hook
from shared.db.models import User, Workflow, WorkflowVersion
from shared.queue.dispatcher import DispatchResult
from shared.queue.inprocess import InProcessQueue
from tests.api.test_runs import executions_of, make_workflow
from tests.api.test_webhook_plan_cache import FETCH, change

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


@pytest.fixture
def hook(caller, anonymous, engine):
    """A webhook that has accepted one delivery: (workflow id, path, token)."""
    workflow_id = make_workflow(engine, caller.user_id, FETCH, status="active")
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    assert anonymous.post(f"/api/hooks/{token}", json={"n": 0}).status_code == 202
    return workflow_id, f"/api/hooks/{token}", token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_number(engine, workflow_id) -> dict:
    return {execution.input["body"]["n"]: execution for execution in executions_of(engine, workflow_id)}


def test_a_known_hook_writes_its_execution_already_dispatched(anonymous, engine, services, hook):
    workflow_id, path, token = hook
    services.dispatcher.get(timeout=1)

    response = anonymous.post(path, json={"n": 1}, headers={"X-Shop": "7"})

    assert response.status_code == 202
    assert known_hook(digest(token)) is not None
    execution = by_number(engine, workflow_id)[1]
    assert response.json() == {"execution_id": str(execution.id)}
    assert response.headers["location"] == f"/api/executions/{execution.id}"
    assert (execution.trigger, execution.status, execution.attempt, execution.lane) == ("webhook", "queued", 1, "light")
    assert execution.input == {
        "method": "POST",
        "body": {"n": 1},
        "query": {},
        "headers": {"content-type": "application/json", "user-agent": "testclient", "x-shop": "7"},
    }
    assert execution.dispatched_at == execution.queued_at  # stamped in the insert, not by a second write
    assert services.dispatcher.get(timeout=1).execution_id == execution.id


def test_a_rotated_token_is_404_after_deliveries(caller, anonymous, engine, hook):
    workflow_id, path, _ = hook

    caller.client.post(f"/api/workflows/{workflow_id}/webhook")

    assert anonymous.post(path, json={"n": 1}).status_code == 404
    assert list(by_number(engine, workflow_id)) == [0]


def test_a_webhook_that_now_requires_signatures_refuses_unsigned_deliveries(anonymous, engine, hook):
    workflow_id, path, _ = hook

    change(engine, Workflow, workflow_id, webhook_secret_ref="webhook-signing.somewhere")

    response = anonymous.post(path, json={"n": 1})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
    assert list(by_number(engine, workflow_id)) == [0]


def test_a_new_version_is_run_in_that_version(anonymous, engine, hook):
    workflow_id, path, _ = hook
    with Session(engine) as session:
        session.add(WorkflowVersion(workflow_id=workflow_id, version=2, definition=GREET))
        session.commit()

    change(engine, Workflow, workflow_id, current_version=2)

    assert anonymous.post(path, json={"n": 1}).status_code == 202
    assert by_number(engine, workflow_id)[1].version == 2


def test_an_owner_without_credits_gets_402_from_a_known_hook(anonymous, caller, engine, hook):
    workflow_id, path, _ = hook

    change(engine, User, caller.user_id, credits=0)

    assert anonymous.post(path, json={"n": 1}).status_code == 402
    assert list(by_number(engine, workflow_id)) == [0]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/json"}, b"{not json", 400),
        ({"Content-Type": "application/xml"}, b"<n/>", 415),
        ({"Idempotency-Key": "k" * 256}, b"", 400),
    ],
    ids=["bad-json", "unsupported-type", "bad-idempotency-key"],
)
def test_a_bad_request_to_a_known_hook_gets_the_full_paths_answer(anonymous, engine, hook, headers, body, status):
    workflow_id, path, _ = hook

    assert anonymous.post(path, content=body, headers=headers).status_code == status
    assert list(by_number(engine, workflow_id)) == [0]


def test_a_bad_request_to_a_rotated_known_hook_is_404_first(caller, anonymous, engine, hook):
    workflow_id, path, _ = hook
    caller.client.post(f"/api/workflows/{workflow_id}/webhook")

    response = anonymous.post(path, content=b"<n/>", headers={"Content-Type": "application/xml"})

    assert response.status_code == 404


def test_a_repeated_idempotency_key_on_a_known_hook_replays(anonymous, engine, hook):
    workflow_id, path, _ = hook
    first = anonymous.post(path, json={"n": 1}, headers={"Idempotency-Key": "order-1"})

    again = anonymous.post(path, json={"n": 2}, headers={"Idempotency-Key": "order-1"})

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["idempotent-replay"] == "true"
    assert sorted(by_number(engine, workflow_id)) == [0, 1]


class RecordingDispatcher:
    """A dispatcher whose messages leave the process: executions are stamped after they are sent."""

    def __init__(self) -> None:
        self.sent: list = []

    def dispatch(self, messages) -> DispatchResult:
        self.sent += messages
        return DispatchResult(sent=list(messages))


def test_with_a_remote_queue_a_known_hook_stamps_after_sending(caller, engine, settings):
    from fastapi.testclient import TestClient

    dispatcher = RecordingDispatcher()
    client = TestClient(create_app(settings, AppServices(settings, dispatcher=dispatcher, _engine=engine)))
    workflow_id = make_workflow(engine, caller.user_id, FETCH, status="active")
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]

    for n in range(2):
        assert client.post(f"/api/hooks/{token}", json={"n": n}).status_code == 202

    executions = by_number(engine, workflow_id)
    assert [message.execution_id for message in dispatcher.sent] == [executions[0].id, executions[1].id]
    second = executions[1]
    assert second.dispatched_at is not None and second.dispatched_at.tzinfo == UTC
    assert second.dispatched_at > second.queued_at


@pytest.fixture
def unlimited(caller, engine, settings):
    """An app without rate limits: nothing reads in the request's transaction before the insert."""
    from fastapi.testclient import TestClient

    relaxed = settings.model_copy(update={"rate_limit_enabled": False})
    services = AppServices(relaxed, dispatcher=InProcessQueue(), _engine=engine)
    return TestClient(create_app(relaxed, services), raise_server_exceptions=False), services


def test_without_a_transaction_a_known_hook_inserts_in_autocommit(caller, engine, unlimited):
    client, services = unlimited
    workflow_id = make_workflow(engine, caller.user_id, FETCH, status="active")
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    first = client.post(f"/api/hooks/{token}", json={"n": 0}, headers={"Idempotency-Key": "a"})

    second = client.post(f"/api/hooks/{token}", json={"n": 1}, headers={"Idempotency-Key": "b"})
    replay = client.post(f"/api/hooks/{token}", json={"n": 2}, headers={"Idempotency-Key": "b"})

    assert [r.status_code for r in (first, second, replay)] == [202, 202, 202]
    assert replay.json() == second.json() and replay.headers["idempotent-replay"] == "true"
    executions = by_number(engine, workflow_id)
    assert sorted(executions) == [0, 1]
    assert executions[1].dispatched_at == executions[1].queued_at
    assert [services.dispatcher.get(timeout=1).execution_id for _ in range(2)] == [executions[0].id, executions[1].id]


def test_a_known_hook_names_its_owner(caller, hook):
    _, _, token = hook

    known = known_hook(digest(token))

    assert (known.owner_id, known.owner_kind) == (caller.user_id, "user")


def test_an_expired_entry_is_renewed_by_the_full_path(anonymous, engine, hook, monkeypatch):
    workflow_id, path, token = hook
    learned = known_hook(digest(token)).learned_at
    monkeypatch.setattr(webhook_known, "KNOWN_HOOK_TTL_S", 0.0)
    assert known_hook(digest(token)) is None

    assert anonymous.post(path, json={"n": 1}).status_code == 202

    assert webhook_known._KNOWN[digest(token)].learned_at > learned
    assert sorted(by_number(engine, workflow_id)) == [0, 1]
