"""Signed webhooks: `X-Flowbuilder-Signature: v1=<HMAC-SHA256 of "<timestamp>.<raw body>">` with a
5-minute window, checked before anything is created; the secret lives only in the vault."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from sqlmodel import Session, select

from shared.db.models import Credential, Workflow
from tests.api.test_webhooks import executions_of, make_workflow

BODY = json.dumps({"order": 42}).encode()
JSON = {"Content-Type": "application/json"}


def signed_headers(secret: str, body: bytes = BODY, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {**JSON, "X-Flowbuilder-Timestamp": timestamp, "X-Flowbuilder-Signature": f"v1={digest}"}


@pytest.fixture
def signed_hook(caller, engine):
    """A workflow whose webhook requires signatures: (workflow id, endpoint path, signing secret)."""
    workflow_id = make_workflow(engine, caller.user_id)
    response = caller.client.post(f"/api/workflows/{workflow_id}/webhook", json={"require_signature": True})
    assert response.status_code == 201, response.text
    body = response.json()
    return workflow_id, f"/api/hooks/{body['token']}", body["signing_secret"]


def assert_refused(response, header: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert header in response.json()["error"]["message"]


def test_a_validly_signed_delivery_starts_a_run(anonymous, engine, signed_hook):
    workflow_id, path, secret = signed_hook

    response = anonymous.post(path, content=BODY, headers=signed_headers(secret))

    assert response.status_code == 202, response.text
    [execution] = executions_of(engine, workflow_id)
    assert execution.input["body"] == {"order": 42}


def test_an_unsigned_webhook_needs_no_signature_and_shows_no_secret(caller, anonymous, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    created = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()

    assert created["signing_secret"] is None
    assert anonymous.post(f"/api/hooks/{created['token']}", content=BODY, headers=JSON).status_code == 202


@pytest.mark.parametrize(
    ("change", "header"),
    [
        (lambda h: h.pop("X-Flowbuilder-Timestamp"), "X-Flowbuilder-Timestamp"),
        (lambda h: h.pop("X-Flowbuilder-Signature"), "X-Flowbuilder-Signature"),
        (lambda h: h.update({"X-Flowbuilder-Timestamp": "soon"}), "X-Flowbuilder-Timestamp"),
        (lambda h: h.update({"X-Flowbuilder-Signature": "sha256=abc"}), "X-Flowbuilder-Signature"),
        (lambda h: h.update({"X-Flowbuilder-Signature": "v1=" + "0" * 64}), "X-Flowbuilder-Signature"),
    ],
    ids=["missing-timestamp", "missing-signature", "malformed-timestamp", "malformed-signature", "wrong-signature"],
)
def test_a_missing_malformed_or_wrong_signature_is_401_and_creates_nothing(
    anonymous, engine, signed_hook, change, header
):
    workflow_id, path, secret = signed_hook
    headers = signed_headers(secret)
    change(headers)

    response = anonymous.post(path, content=BODY, headers=headers)

    assert_refused(response, header)
    assert executions_of(engine, workflow_id) == []


@pytest.mark.parametrize("offset", [-330, 330, -3600, 3600], ids=["past", "future", "hour-past", "hour-future"])
def test_a_stale_timestamp_is_401_even_when_correctly_signed(anonymous, engine, signed_hook, offset):
    workflow_id, path, secret = signed_hook

    response = anonymous.post(path, content=BODY, headers=signed_headers(secret, at=time.time() + offset))

    assert_refused(response, "X-Flowbuilder-Timestamp")
    assert executions_of(engine, workflow_id) == []


def test_a_signature_over_another_body_fails(anonymous, engine, signed_hook):
    workflow_id, path, secret = signed_hook

    response = anonymous.post(path, content=b'{"order": 43}', headers=signed_headers(secret, body=BODY))

    assert_refused(response, "X-Flowbuilder-Signature")
    assert executions_of(engine, workflow_id) == []


def test_an_idempotent_replay_still_needs_a_valid_signature(anonymous, engine, signed_hook):
    workflow_id, path, secret = signed_hook
    first = anonymous.post(path, content=BODY, headers={**signed_headers(secret), "Idempotency-Key": "k1"})
    assert first.status_code == 202

    replay = anonymous.post(path, content=BODY, headers={**JSON, "Idempotency-Key": "k1"})

    assert_refused(replay, "X-Flowbuilder-Timestamp")
    assert "Idempotent-Replay" not in replay.headers
    assert len(executions_of(engine, workflow_id)) == 1


def test_rotation_replaces_the_secret_and_keeps_requiring_signatures(caller, anonymous, engine, signed_hook):
    workflow_id, _, old_secret = signed_hook

    rotated = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()
    path, new_secret = f"/api/hooks/{rotated['token']}", rotated["signing_secret"]

    assert new_secret and new_secret != old_secret
    assert_refused(anonymous.post(path, content=BODY, headers=signed_headers(old_secret)), "X-Flowbuilder-Signature")
    assert anonymous.post(path, content=BODY, headers=signed_headers(new_secret)).status_code == 202


def test_turning_signatures_off_removes_the_secret(caller, anonymous, engine, signed_hook):
    workflow_id, _, _ = signed_hook

    created = caller.client.post(f"/api/workflows/{workflow_id}/webhook", json={"require_signature": False}).json()

    assert created["signing_secret"] is None
    assert anonymous.post(f"/api/hooks/{created['token']}", content=BODY, headers=JSON).status_code == 202
    assert credential_names(engine, caller.user_id) == []


def test_deleting_the_webhook_deletes_the_secret_from_the_vault(caller, engine, signed_hook):
    workflow_id, _, _ = signed_hook
    assert credential_names(engine, caller.user_id) == [f"webhook-signing.{workflow_id}"]

    assert caller.client.delete(f"/api/workflows/{workflow_id}/webhook").status_code == 204

    assert credential_names(engine, caller.user_id) == []
    with Session(engine) as session:
        assert session.get(Workflow, workflow_id).webhook_secret_ref is None


def test_deleting_the_workflow_deletes_its_signing_secret_from_the_vault(caller, engine, signed_hook):
    workflow_id, _, _ = signed_hook

    assert caller.client.delete(f"/api/workflows/{workflow_id}").status_code == 204

    assert credential_names(engine, caller.user_id) == []


def test_the_secret_is_never_returned_nor_stored_in_clear(caller, engine, signed_hook):
    workflow_id, _, secret = signed_hook
    responses = [
        caller.client.get(f"/api/workflows/{workflow_id}"),
        caller.client.get("/api/workflows"),
        caller.client.get("/api/credentials"),
        caller.client.get(f"/api/credentials/webhook-signing.{workflow_id}"),
        caller.client.get("/api/me/export"),
    ]

    for response in responses:
        assert secret not in response.text
        assert f"webhook-signing.{workflow_id}" not in response.text or response.request.url.path.endswith("export")
    assert caller.client.get("/api/credentials").json()["count"] == 0
    with Session(engine) as session:
        workflow = session.get(Workflow, workflow_id)
        stored = [getattr(workflow, column) for column in Workflow.model_fields]
        [credential] = session.exec(select(Credential).where(Credential.owner_id == caller.user_id)).all()
    assert all(secret not in str(value) for value in stored)
    assert workflow.webhook_secret_ref == f"webhook-signing.{workflow_id}"
    assert secret.encode() not in (credential.ciphertext or b"")


def test_signing_names_are_reserved_in_the_credentials_routes(caller, signed_hook):
    workflow_id, _, _ = signed_hook
    name = f"webhook-signing.{workflow_id}"

    created = caller.client.post("/api/credentials", json={"name": name, "type": "bearer", "values": {"token": "x"}})

    assert created.status_code == 422
    assert caller.client.put(f"/api/credentials/{name}", json={"values": {"token": "x"}}).status_code == 404
    assert caller.client.delete(f"/api/credentials/{name}").status_code == 404


def credential_names(engine, owner_id) -> list[str]:
    with Session(engine) as session:
        return [row.name for row in session.exec(select(Credential).where(Credential.owner_id == owner_id)).all()]
