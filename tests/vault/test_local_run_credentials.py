"""`flowbuilder run` reads stored credentials from the vault; a `--credentials` file wins over it."""

from __future__ import annotations

from sqlmodel import Session

from shared.cli.files import WorkflowFile
from shared.cli.local_run import run_workflow_file
from shared.db.crud import ensure_local_user
from shared.db.migrate import upgrade
from shared.db.session import get_engine
from shared.vault.store import vault_from_settings
from tests.support.http_server import Received, Reply


def workflow(server) -> WorkflowFile:
    definition = {
        "nodes": [
            {"id": "stored", "type": "http.request", "config": {"url": server.url("/a"), "credential": "stored"}},
            {"id": "both", "type": "http.request", "config": {"url": server.url("/b"), "credential": "both"}},
        ]
    }
    return WorkflowFile(name="vault-run", description="", definition=definition)


def store_credentials(settings) -> None:
    engine = get_engine(settings.resolved_database_url)
    upgrade(engine)
    with Session(engine) as session:
        owner_id = ensure_local_user(session).id
        session.commit()
    vault = vault_from_settings(engine, settings)
    vault.create(owner_id, "stored", "bearer", {"token": "vault-token-1"})
    vault.create(owner_id, "both", "bearer", {"token": "vault-token-2"})


async def test_stored_credentials_are_used_and_the_file_wins(server, settings):
    def ok(received: Received) -> Reply:
        return Reply(body={"ok": True})

    server.route("/a", ok)
    server.route("/b", ok)
    store_credentials(settings)
    from_file = {"both": {"type": "bearer", "token": "file-token"}}

    outcome = await run_workflow_file(workflow(server), {}, settings, credentials=from_file)

    assert outcome.status == "succeeded", outcome.error
    sent = {received.path: received.headers["authorization"] for received in server.received}
    assert sent == {"/a": "Bearer vault-token-1", "/b": "Bearer file-token"}
    assert (settings.data_dir / "vault.key").exists()
