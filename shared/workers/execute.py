"""One message, start to end, for the Fargate task and the light-lane Lambda alike.

Claim (`queued` -> `running`; anything else is dropped), run with a heartbeat, and on a stop
request (SIGTERM) or when the deadline nears: drain (no new steps), give running steps up to
`drain_s` to finish, then hand the execution back for its next attempt, re-dispatched where the
caller says. Succeeded steps are persisted as they finish, so the next attempt re-uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shared.alerts import alert_if_failed
from shared.artifacts import artifact_store
from shared.db.execution_store import SqlExecutionStore
from shared.engine.runner import RunOutcome, WorkflowRunner
from shared.queue.messages import QueueMessage
from shared.vault.store import vault_from_settings
from shared.workers.handback import beat, fail_if_running, hand_back, redispatch

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.artifacts import ArtifactStore
    from shared.engine.context import CredentialProvider
    from shared.nodes.registry import NodeRegistry
    from shared.queue.dispatcher import Dispatcher
    from shared.settings import Settings

logger = logging.getLogger("flowbuilder.worker")

Status = Literal["succeeded", "failed", "cancelled", "dropped", "handed_back"]


@dataclass(frozen=True)
class Redispatch:
    """Where a handed-back execution goes: `lane`'s queue through `dispatcher`."""

    dispatcher: Dispatcher
    lane: str


@dataclass(frozen=True)
class WorkerResult:
    execution_id: uuid.UUID
    status: Status
    error: str | None = None
    next_message: QueueMessage | None = None
    """For `handed_back`: the next attempt's message (sent or left to the outbox)."""


async def execute_message(
    engine: Engine,
    settings: Settings,
    message: QueueMessage,
    *,
    worker_id: str,
    heartbeat_s: float,
    deadline: float | None = None,
    on_handback: Redispatch | None = None,
    stop: asyncio.Event | None = None,
    drain_s: float | None = None,
    credentials: CredentialProvider | None = None,
    registry: NodeRegistry | None = None,
    artifacts: ArtifactStore | None = None,
) -> WorkerResult:
    """Claim and run `message`'s execution. `deadline` (time.monotonic) is when it must have been
    handed back at the latest; draining starts `drain_s` before it, or when `stop` is set."""
    execution_id = message.execution_id
    store = SqlExecutionStore(engine)
    claimed = await asyncio.to_thread(store.claim_and_load, execution_id, worker_id)
    if claimed is None:
        logger.info("execution %s: not queued (a duplicate or stale message); dropped", execution_id)
        return WorkerResult(execution_id, "dropped")
    drain_s = settings.worker_drain_deadline_s if drain_s is None else drain_s
    credentials = credentials or vault_from_settings(engine, settings)
    runner = WorkflowRunner(
        store,
        settings=settings,
        credentials=credentials,
        registry=registry,
        artifacts=artifacts or artifact_store(settings, engine),
    )
    heartbeat = asyncio.create_task(_beat_forever(engine, execution_id, worker_id, heartbeat_s))
    run = asyncio.create_task(runner.run(execution_id, claimed))
    try:
        outcome = await _run_until_stopped(run, runner, stop or asyncio.Event(), deadline, drain_s)
    except Exception as exc:
        logger.exception("execution %s: the run crashed", execution_id)
        error = f"the worker failed while running this execution: {type(exc).__name__}: {exc}"
        if await asyncio.to_thread(fail_if_running, engine, execution_id, error) is not None:
            await alert_if_failed(engine, settings, execution_id, credentials)
        return WorkerResult(execution_id, "failed", error)
    finally:
        if not run.done():
            run.cancel()  # we are being cancelled ourselves: steps never outlive the worker
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    if outcome is None or outcome.status == "interrupted":
        lane = on_handback.lane if on_handback else None
        handed = await asyncio.to_thread(hand_back, engine, execution_id, lane)
        if handed is not None and on_handback is not None:
            await asyncio.to_thread(redispatch, engine, on_handback.dispatcher, handed)
        return WorkerResult(execution_id, "handed_back", next_message=handed)
    if outcome.status == "failed":
        await alert_if_failed(engine, settings, execution_id, credentials)
    return WorkerResult(execution_id, outcome.status, outcome.error)  # type: ignore[arg-type]


async def _run_until_stopped(
    run: asyncio.Task[RunOutcome],
    runner: WorkflowRunner,
    stop: asyncio.Event,
    deadline: float | None,
    drain_s: float,
) -> RunOutcome | None:
    """The run's outcome; None when running steps outlived the drain and were cancelled."""
    drain_at = None if deadline is None else deadline - drain_s
    stopping = asyncio.create_task(stop.wait())
    try:
        timeout = None if drain_at is None else max(0.0, drain_at - time.monotonic())
        await asyncio.wait({run, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if run.done():
        return run.result()
    logger.info("draining: no new steps; running ones get up to %g s", drain_s)
    runner.drain()
    limit = drain_s if deadline is None else min(drain_s, max(0.0, deadline - time.monotonic()))
    done, _ = await asyncio.wait({run}, timeout=limit)
    if done:
        return run.result()
    logger.warning("running steps outlived the drain; cancelling them")
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    return None


async def _beat_forever(engine: Engine, execution_id: uuid.UUID, worker_id: str, every_s: float) -> None:
    """Long steps write nothing for a while; the reaper must still see this worker alive."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(beat, engine, execution_id, worker_id)
        except Exception:
            logger.exception("execution %s: heartbeat failed", execution_id)
