"""Running a workflow file in-process on the local database (`flowbuilder run`)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from shared.artifacts import artifact_store
from shared.cli.files import WorkflowFile
from shared.db.crud import ensure_local_user, queue_execution, save_workflow_definition
from shared.db.execution_store import SqlExecutionStore
from shared.db.migrate import upgrade
from shared.db.session import get_engine
from shared.engine.planner import build_plan
from shared.engine.recorder import EventListener
from shared.engine.runner import RunOutcome, WorkflowRunner
from shared.engine.validation import parse_definition
from shared.nodes import default_registry
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider
from shared.vault.store import FirstFoundCredentials, vault_from_settings


async def run_workflow_file(
    workflow_file: WorkflowFile,
    input: dict[str, Any],
    settings: Settings,
    *,
    credentials: dict[str, dict[str, Any]] | None = None,
    listeners: Iterable[EventListener] = (),
) -> RunOutcome:
    """Saves the file as the local user's workflow of that name (a new version when it changed),
    queues a manual execution, claims it and runs it here. Raises `DefinitionInvalid` first."""
    registry = default_registry()
    definition = parse_definition(workflow_file.definition, registry)
    engine = get_engine(settings.resolved_database_url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        owner = ensure_local_user(session)
        workflow = save_workflow_definition(
            session, owner.id, workflow_file.name, workflow_file.definition, description=workflow_file.description
        )
        lane = build_plan(definition, registry).lane
        execution = queue_execution(session, workflow, trigger="manual", input=input, lane=lane)
        session.commit()
        execution_id: uuid.UUID = execution.id
    store = SqlExecutionStore(engine)
    if not store.claim(execution_id, f"cli-{socket.gethostname()}-{os.getpid()}"):
        raise RuntimeError(f"execution {execution_id} was claimed by another worker")
    runner = WorkflowRunner(
        store,
        settings=settings,
        credentials=FirstFoundCredentials(  # the --credentials file wins over the vault
            InMemoryCredentialProvider(credentials or {}), vault_from_settings(engine, settings)
        ),
        registry=registry,
        listeners=listeners,
        artifacts=artifact_store(settings, engine),
    )
    return await runner.run(execution_id)
