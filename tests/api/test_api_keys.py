"""API keys: created once-shown, listed without secrets, revoked at once, and held to their scope."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from shared.db.models import ApiKey
from shared.identity.api_keys import issue_api_key
from tests.api.test_runs import GREET, make_workflow


def key_for(engine, user_id, scope: str) -> dict[str, str]:
    with Session(engine) as session:
        issued = issue_api_key(session, user_id, f"{scope} key", scope)
        session.commit()
    return {"Authorization": f"Bearer {issued.key}"}


def test_a_created_key_is_shown_once_with_its_prefix_and_scope(caller):
    created = caller.client.post("/api/api-keys", json={"name": "ci", "scope": "run"})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(body["prefix"] + "_")
    assert body["prefix"].startswith("fb_")
    assert (body["name"], body["scope"], body["revoked_at"]) == ("ci", "run", None)
    listed = caller.client.get("/api/api-keys")
    assert body["key"] not in listed.text
    [row] = [key for key in listed.json()["data"] if key["id"] == body["id"]]
    assert set(row) == {"id", "name", "prefix", "scope", "created_at", "last_used_at", "revoked_at"}


def test_only_the_sha256_of_a_key_is_stored(caller, engine):
    body = caller.client.post("/api/api-keys", json={"name": "stored"}).json()

    with Session(engine) as session:
        row = session.get(ApiKey, uuid.UUID(body["id"]))

    assert row.key_hash == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["key"] not in {row.name, row.prefix, row.key_hash}


def test_a_new_key_works_by_bearer_and_x_api_key_and_records_its_use(caller, anonymous):
    body = caller.client.post("/api/api-keys", json={"name": "both"}).json()

    assert anonymous.get("/api/me", headers={"Authorization": f"Bearer {body['key']}"}).status_code == 200
    assert anonymous.get("/api/me", headers={"X-API-Key": body["key"]}).status_code == 200
    [row] = [key for key in caller.client.get("/api/api-keys").json()["data"] if key["id"] == body["id"]]
    assert row["last_used_at"] is not None


def test_a_revoked_key_fails_at_once(caller, anonymous):
    body = caller.client.post("/api/api-keys", json={"name": "short-lived"}).json()
    auth = {"Authorization": f"Bearer {body['key']}"}
    assert anonymous.get("/api/me", headers=auth).status_code == 200

    revoked = caller.client.delete(f"/api/api-keys/{body['id']}")

    assert revoked.status_code == 204
    after = anonymous.get("/api/me", headers=auth)
    assert after.status_code == 401
    assert "www-authenticate" in after.headers
    [row] = [key for key in caller.client.get("/api/api-keys").json()["data"] if key["id"] == body["id"]]
    assert row["revoked_at"] is not None
    assert caller.client.delete(f"/api/api-keys/{body['id']}").status_code == 204


def test_an_unknown_scope_is_rejected(caller):
    assert caller.client.post("/api/api-keys", json={"name": "x", "scope": "admin"}).status_code == 422


def test_a_stranger_cannot_see_or_revoke_anothers_key(caller, stranger, anonymous):
    body = caller.client.post("/api/api-keys", json={"name": "private"}).json()

    assert stranger.client.delete(f"/api/api-keys/{body['id']}").status_code == 404
    assert body["id"] not in stranger.client.get("/api/api-keys").text
    assert anonymous.get("/api/me", headers={"Authorization": f"Bearer {body['key']}"}).status_code == 200


def test_a_read_key_reads_but_gets_403_on_runs_retries_resumes_cancels_and_webhooks(caller, anonymous, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    execution_id = caller.client.post(f"/api/workflows/{workflow_id}/runs", json={}).json()["execution_id"]
    read = key_for(engine, caller.user_id, "read")

    assert anonymous.get(f"/api/workflows/{workflow_id}", headers=read).status_code == 200
    assert anonymous.get(f"/api/executions/{execution_id}", headers=read).status_code == 200
    refused = [
        anonymous.post(f"/api/workflows/{workflow_id}/runs", headers=read, json={}),
        anonymous.post(f"/api/executions/{execution_id}/retry", headers=read, json={}),
        anonymous.post(f"/api/executions/{execution_id}/resume", headers=read, json={}),
        anonymous.post(f"/api/executions/{execution_id}/cancel", headers=read),
        anonymous.post(f"/api/workflows/{workflow_id}/webhook", headers=read),
        anonymous.post("/api/api-keys", headers=read, json={"name": "escalate", "scope": "full"}),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert {response.json()["error"]["code"] for response in refused} == {"insufficient_scope"}


def test_a_run_key_runs_but_gets_403_on_workflow_schedule_and_key_writes(caller, anonymous, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    run = key_for(engine, caller.user_id, "run")

    assert anonymous.post(f"/api/workflows/{workflow_id}/runs", headers=run, json={}).status_code == 202
    refused = [
        anonymous.post("/api/workflows", headers=run, json={"name": "new", "definition": GREET}),
        anonymous.patch(f"/api/workflows/{workflow_id}", headers=run, json={"name": "renamed"}),
        anonymous.delete(f"/api/workflows/{workflow_id}", headers=run),
        anonymous.put(f"/api/workflows/{workflow_id}/schedule", headers=run, json={"cron": "*/5 * * * *"}),
        anonymous.post("/api/api-keys", headers=run, json={"name": "escalate"}),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert "needs `full`" in refused[0].json()["error"]["message"]


def test_a_full_key_may_write(caller):
    assert caller.client.post("/api/workflows", json={"name": "new", "definition": GREET}).status_code == 201


def test_listing_keys_needs_a_key(anonymous):
    assert anonymous.get("/api/api-keys").status_code == 401


def test_a_guest_token_is_listed_among_the_guests_keys(anonymous):
    spoofed_then_real = f"10.255.255.1, 192.0.2.{secrets.randbelow(254) + 1}"
    token = anonymous.post("/api/auth/guest", headers={"X-Forwarded-For": spoofed_then_real}).json()
    client = TestClient(anonymous.app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token['token']}"

    [row] = client.get("/api/api-keys").json()["data"]

    assert (row["name"], row["scope"]) == ("guest", "full")


def test_keys_in_the_database_match_the_listing(caller, engine):
    caller.client.post("/api/api-keys", json={"name": "count-me"})

    with Session(engine) as session:
        stored = session.exec(select(ApiKey).where(ApiKey.owner_id == caller.user_id)).all()

    assert caller.client.get("/api/api-keys").json()["count"] == len(stored)
