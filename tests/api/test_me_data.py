"""Data rights: the export holds all of one's data and no secret or hash; deleting the account
removes workflows, executions, credentials (their secrets through the vault) and keys, and leaves
the ledger and audit rows anonymised."""

from __future__ import annotations

import json
import uuid

from sqlmodel import Session, select

from shared.db.crud import queue_execution
from shared.db.models import ApiKey, AuditLog, Credential, CreditLedgerEntry, Execution, StepRun, User, Workflow
from shared.vault.local import LocalBackend
from shared.vault.store import vault_from_settings

SECRET = "s3cret-token-value-never-exported"
DEFINITION = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


def populate(caller, engine, settings) -> str:
    """A workflow (webhook on), an execution with a step, a credential, a ledger row and audit rows."""
    workflow_id = caller.client.post("/api/workflows", json={"name": "mine", "definition": DEFINITION}).json()["id"]
    caller.client.post(f"/api/workflows/{workflow_id}/webhook")
    vault_from_settings(engine, settings).create(caller.user_id, "api-token", "bearer", {"token": SECRET})
    with Session(engine) as session:
        workflow = session.get(Workflow, uuid.UUID(workflow_id))
        execution = queue_execution(session, workflow, trigger="api")
        session.add(StepRun(execution_id=execution.id, node_id="greet", node_type="text.combine", status="succeeded"))
        session.add(CreditLedgerEntry(owner_id=caller.user_id, delta=-1, reason="step", execution_id=execution.id))
        session.commit()
    return workflow_id


def test_the_export_holds_all_of_ones_data(caller, engine, settings):
    workflow_id = populate(caller, engine, settings)

    export = caller.client.get("/api/me/export").json()

    assert export["user"]["id"] == str(caller.user_id)
    [workflow] = export["workflows"]
    assert workflow["id"] == workflow_id and [v["version"] for v in workflow["versions"]] == [1]
    assert workflow["versions"][0]["definition"] == DEFINITION
    [execution] = export["executions"]
    assert [step["node_id"] for step in execution["steps"]] == ["greet"]
    assert export["credentials"][0]["name"] == "api-token" and export["credentials"][0]["type"] == "bearer"
    assert export["api_keys"][0]["prefix"].startswith("fb_")
    assert [row["delta"] for row in export["credit_ledger"]] == [-1]
    assert {row["action"] for row in export["audit"]} >= {"POST /api/workflows"}


def test_the_export_has_no_secret_values_or_hashes(caller, engine, settings):
    populate(caller, engine, settings)

    text = caller.client.get("/api/me/export").text
    export = json.loads(text)

    assert SECRET not in text and caller.key not in text
    for forbidden in ("key_hash", "webhook_token_hash", "webhook_secret_ref", "guest_ip_hash", "ip_hash", "ciphertext"):
        assert forbidden not in text
    with Session(engine) as session:
        key_hash = session.exec(select(ApiKey.key_hash).where(ApiKey.owner_id == caller.user_id)).first()
        token_hash = session.exec(
            select(Workflow.webhook_token_hash).where(Workflow.owner_id == caller.user_id)
        ).first()
    assert key_hash not in text and token_hash not in text
    assert set(export) == {"user", "workflows", "executions", "credentials", "api_keys", "credit_ledger", "audit"}


def test_the_export_has_nothing_of_another_users(caller, stranger, engine, settings):
    populate(stranger, engine, settings)

    export = caller.client.get("/api/me/export").json()

    assert export["workflows"] == [] and export["executions"] == [] and export["credentials"] == []
    assert export["credit_ledger"] == [] and export["audit"] == []


def test_deleting_the_account_removes_ones_data_and_anonymises_the_ledger(
    caller, stranger, engine, settings, monkeypatch
):
    removed = []
    real_remove = LocalBackend.remove
    monkeypatch.setattr(LocalBackend, "remove", lambda self, ref: removed.append(ref) or real_remove(self, ref))
    populate(caller, engine, settings)
    kept = populate(stranger, engine, settings)
    user_id = caller.user_id

    response = caller.client.delete("/api/me")

    assert response.status_code == 204
    assert caller.client.get("/api/me").status_code == 401  # the key went with the user
    assert len(removed) == 1  # the credential's secret was removed through the vault
    with Session(engine) as session:
        assert session.get(User, user_id) is None
        for model in (Workflow, Execution, Credential, ApiKey):
            assert session.exec(select(model).where(model.owner_id == user_id)).all() == []
        assert session.exec(select(CreditLedgerEntry).where(CreditLedgerEntry.owner_id == user_id)).all() == []
        assert session.exec(select(AuditLog).where(AuditLog.actor_id == user_id)).all() == []
        assert session.get(Workflow, uuid.UUID(kept)) is not None  # the stranger's data is untouched
    assert stranger.client.get("/api/me/export").json()["workflows"][0]["id"] == kept


def test_the_ledger_rows_stay_anonymised_after_deletion(caller, engine, settings):
    populate(caller, engine, settings)
    with Session(engine) as session:
        execution_id = session.exec(select(Execution.id).where(Execution.owner_id == caller.user_id)).one()

    caller.client.delete("/api/me")

    with Session(engine) as session:
        [row] = session.exec(select(CreditLedgerEntry).where(CreditLedgerEntry.execution_id == execution_id)).all()
    assert (row.owner_id, row.delta, row.reason) == (None, -1, "step")
