"""Webhooks: token lifecycle (shown once, stored hashed, rotated, removed) and the public endpoint's
rules on methods, content types, sizes, forwarded headers and idempotency."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlmodel import Session

from api.routes import webhooks
from shared.db.models import Workflow
from tests.api.test_runs import executions_of
from tests.api.test_runs import make_workflow as make_runnable_workflow

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}
MIB = 1024 * 1024


def make_workflow(engine, owner_id, status="active") -> uuid.UUID:
    return make_runnable_workflow(engine, owner_id, GREET, status=status)


def stored_hash(engine, workflow_id) -> str | None:
    with Session(engine) as session:
        return session.get(Workflow, workflow_id).webhook_token_hash


@pytest.fixture
def hook(caller, engine):
    """A workflow with a webhook: (workflow id, path of its public endpoint)."""
    workflow_id = make_workflow(engine, caller.user_id)
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    return workflow_id, f"/api/hooks/{token}"


def only_input(engine, workflow_id) -> dict:
    [execution] = executions_of(engine, workflow_id)
    return execution.input


def test_creating_a_webhook_shows_the_token_once_and_stores_only_its_hash(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    response = caller.client.post(f"/api/workflows/{workflow_id}/webhook")

    assert response.status_code == 201
    token, url = response.json()["token"], response.json()["url"]
    assert url.endswith(f"/api/hooks/{token}")
    assert stored_hash(engine, workflow_id) == hashlib.sha256(token.encode()).hexdigest()


def test_rotating_the_token_retires_the_old_one(caller, anonymous, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    old = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]

    new = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]

    assert new != old
    assert anonymous.post(f"/api/hooks/{old}").status_code == 404
    assert anonymous.post(f"/api/hooks/{new}").status_code == 202


def test_deleting_the_webhook_makes_its_token_unknown(caller, anonymous, engine, hook):
    workflow_id, path = hook

    assert caller.client.delete(f"/api/workflows/{workflow_id}/webhook").status_code == 204

    assert stored_hash(engine, workflow_id) is None
    assert anonymous.post(path).status_code == 404


def test_a_stranger_can_neither_create_nor_delete_the_webhook(stranger, anonymous, engine, hook):
    workflow_id, path = hook
    before = stored_hash(engine, workflow_id)

    assert stranger.client.post(f"/api/workflows/{workflow_id}/webhook").status_code == 404
    assert stranger.client.delete(f"/api/workflows/{workflow_id}/webhook").status_code == 404

    assert stored_hash(engine, workflow_id) == before
    assert anonymous.post(path).status_code == 202


@pytest.mark.parametrize("token", ["wh_unknown", "x" * 500])
def test_an_unknown_token_is_404(anonymous, token):
    response = anonymous.post(f"/api/hooks/{token}", json={})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_json_post_starts_a_webhook_run_and_is_dispatched(anonymous, engine, services, hook):
    workflow_id, path = hook

    response = anonymous.post(f"{path}?a=1&a=2&b=x", json={"order": 7}, headers={"User-Agent": "shop/1.0"})

    assert response.status_code == 202
    [execution] = executions_of(engine, workflow_id)
    assert response.json() == {"execution_id": str(execution.id)}
    assert execution.trigger == "webhook"
    assert execution.input == {
        "method": "POST",
        "body": {"order": 7},
        "query": {"a": ["1", "2"], "b": "x"},
        "headers": {"content-type": "application/json", "user-agent": "shop/1.0"},
    }
    assert services.dispatcher.get(timeout=1).execution_id == execution.id


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_any_method_starts_a_run(anonymous, engine, hook, method):
    workflow_id, path = hook

    assert anonymous.request(method, path).status_code == 202

    assert only_input(engine, workflow_id)["method"] == method


def test_only_headers_that_cannot_carry_credentials_are_forwarded(anonymous, engine, hook):
    workflow_id, path = hook
    sent = {
        "X-Signature": "abc",
        "X-Api-Key": "secret",
        "Authorization": "Bearer secret",
        "Cookie": "session=secret",
        "Accept": "text/html",
        "User-Agent": "ua",
    }

    anonymous.get(path, headers=sent)

    assert only_input(engine, workflow_id)["headers"] == {"x-signature": "abc", "user-agent": "ua"}


def test_form_fields_become_a_dict(anonymous, engine, hook):
    workflow_id, path = hook

    anonymous.post(path, data={"name": "Ada", "tag": ["a", "b"]})

    assert only_input(engine, workflow_id)["body"] == {"name": "Ada", "tag": ["a", "b"]}


def test_multipart_fields_become_a_dict(anonymous, engine, hook):
    workflow_id, path = hook

    anonymous.post(path, files={"name": (None, "Ada"), "city": (None, "London")})

    assert only_input(engine, workflow_id)["body"] == {"name": "Ada", "city": "London"}


def test_multipart_files_are_refused_with_415(anonymous, engine, hook):
    workflow_id, path = hook

    response = anonymous.post(path, files={"upload": ("a.txt", b"hello", "text/plain")})

    assert response.status_code == 415
    assert executions_of(engine, workflow_id) == []


def test_text_plain_arrives_as_a_string(anonymous, engine, hook):
    workflow_id, path = hook

    anonymous.post(path, content="héllo".encode(), headers={"Content-Type": "text/plain; charset=utf-8"})

    assert only_input(engine, workflow_id)["body"] == "héllo"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b'{"x": NaN}'),
        ("application/json", b"[" * 100_000),
        ("application/json", b'"\\ud800"'),
        ("application/x-www-form-urlencoded", b"a=%ff"),
        ("multipart/form-data", b"--x\r\n"),
        ("text/plain; charset=nonsense", b"hi"),
    ],
    ids=["malformed", "nan", "too-deep", "surrogate", "bad-utf8-form", "no-boundary", "unknown-charset"],
)
def test_a_body_that_does_not_parse_as_declared_is_400(anonymous, engine, hook, content_type, body):
    workflow_id, path = hook

    response = anonymous.post(path, content=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert executions_of(engine, workflow_id) == []


def test_an_unsupported_content_type_is_415(anonymous, engine, hook):
    workflow_id, path = hook

    response = anonymous.post(path, content=b"<x/>", headers={"Content-Type": "application/xml"})

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert executions_of(engine, workflow_id) == []


def test_a_body_without_a_content_type_is_415(anonymous, engine, hook):
    workflow_id, path = hook

    assert anonymous.post(path, content=b"data").status_code == 415
    assert executions_of(engine, workflow_id) == []


def test_an_empty_body_needs_no_content_type(anonymous, engine, hook):
    workflow_id, path = hook

    assert anonymous.post(path).status_code == 202
    assert only_input(engine, workflow_id)["body"] is None


def test_a_declared_length_over_1_mib_is_413(anonymous, engine, hook):
    workflow_id, path = hook

    response = anonymous.post(path, content=b"a" * (MIB + 1), headers={"Content-Type": "text/plain"})

    assert response.status_code == 413
    assert executions_of(engine, workflow_id) == []


def test_a_streamed_body_over_1_mib_is_413(anonymous, engine, hook):
    workflow_id, path = hook
    chunks = (b"a" * 65536 for _ in range(17))  # no Content-Length: chunked

    response = anonymous.post(path, content=chunks, headers={"Content-Type": "text/plain"})

    assert response.status_code == 413
    assert executions_of(engine, workflow_id) == []


def test_a_body_of_exactly_1_mib_is_accepted(anonymous, engine, hook):
    _, path = hook

    response = anonymous.post(path, content=b"a" * MIB, headers={"Content-Type": "text/plain"})

    assert response.status_code == 202


def test_a_repeated_idempotency_key_replays_the_first_execution(anonymous, engine, services, hook):
    workflow_id, path = hook
    first = anonymous.post(path, json={"n": 1}, headers={"Idempotency-Key": "order-7"})

    again = anonymous.post(path, json={"n": 2}, headers={"Idempotency-Key": "order-7"})

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["idempotent-replay"] == "true"
    assert "idempotent-replay" not in first.headers
    assert only_input(engine, workflow_id)["body"] == {"n": 1}
    assert services.dispatcher.qsize() == 1


def test_a_delivery_that_loses_the_idempotency_race_replays_the_winner(anonymous, engine, hook, monkeypatch):
    workflow_id, path = hook
    winner = anonymous.post(path, headers={"Idempotency-Key": "race"}).json()["execution_id"]
    real_lookup = webhooks.execution_by_idempotency_key
    lookups = []

    def lookup_before_the_winner_committed(session, workflow_id, key):
        lookups.append(key)
        return None if len(lookups) == 1 else real_lookup(session, workflow_id, key)

    monkeypatch.setattr(webhooks, "execution_by_idempotency_key", lookup_before_the_winner_committed)
    loser = anonymous.post(path, headers={"Idempotency-Key": "race"})

    assert (loser.status_code, loser.json()["execution_id"]) == (202, winner)
    assert loser.headers["idempotent-replay"] == "true"
    assert len(executions_of(engine, workflow_id)) == 1


def test_the_same_idempotency_key_on_another_workflow_is_a_new_run(caller, anonymous, engine, hook):
    _, path = hook
    other_id = make_workflow(engine, caller.user_id)
    other_path = "/api/hooks/" + caller.client.post(f"/api/workflows/{other_id}/webhook").json()["token"]

    first = anonymous.post(path, headers={"Idempotency-Key": "k"}).json()["execution_id"]
    second = anonymous.post(other_path, headers={"Idempotency-Key": "k"}).json()["execution_id"]

    assert first != second


@pytest.mark.parametrize("key", ["k" * 256, "caf\u00e9"], ids=["too-long", "not-ascii"])
def test_an_unusable_idempotency_key_is_400(anonymous, engine, hook, key):
    workflow_id, path = hook

    response = anonymous.post(path, headers={"Idempotency-Key": key.encode("latin-1")})

    assert response.status_code == 400
    assert executions_of(engine, workflow_id) == []


def test_a_hook_of_an_archived_workflow_is_409(anonymous, engine, hook):
    workflow_id, path = hook
    with Session(engine) as session:
        workflow = session.get(Workflow, workflow_id)
        workflow.status = "archived"
        session.add(workflow)
        session.commit()

    assert anonymous.post(path).status_code == 409
    assert executions_of(engine, workflow_id) == []


def test_a_guests_webhook_stops_with_the_trial(caller, anonymous, engine, hook):
    from datetime import UTC, datetime, timedelta

    from shared.db.models import User

    workflow_id, path = hook

    def set_trial(expires_at: datetime) -> None:
        with Session(engine) as session:
            owner = session.get(User, caller.user_id)
            owner.kind, owner.trial_expires_at = "guest", expires_at
            session.add(owner)
            session.commit()

    set_trial(datetime.now(UTC) + timedelta(days=1))
    assert [anonymous.post(path).status_code for _ in range(2)] == [202, 202]  # the second is a known hook
    set_trial(datetime.now(UTC) - timedelta(seconds=1))

    refused = anonymous.post(path)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "trial_expired"
    assert len(executions_of(engine, workflow_id)) == 2
