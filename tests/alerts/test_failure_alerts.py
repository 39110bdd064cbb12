"""Failure alerts end to end on SQLite and PostgreSQL: a workflow that fails, run by the cloud worker
(`execute_message`) or the dev process's pool, alerts an aiosmtpd server and a local webhook
receiver once, with the workflow, the failed step, the error and a link to the run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.alerts import alert_if_failed
from shared.db.crud import create_workflow, queue_execution
from shared.db.models import Execution, ExecutionEvent, User
from shared.local.worker_pool import LocalWorkerPool
from shared.queue.inprocess import InProcessQueue
from shared.queue.messages import QueueMessage
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider
from shared.workers.execute import execute_message
from tests.support.smtp_server import RecordingSmtp, start_smtp

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

NO_CREDENTIALS = InMemoryCredentialProvider()


@pytest.fixture
def mailbox() -> RecordingSmtp:
    return RecordingSmtp(users={"ops": "pw"})


@pytest.fixture
def smtp_port(mailbox: RecordingSmtp) -> Iterator[int]:
    controller = start_smtp(mailbox)
    yield controller.port
    controller.stop()


@pytest.fixture
def alert_settings(settings: Settings, smtp_port: int) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "smtp_from": "alerts@flow.example",
            "public_url": "https://flow.example/",
        }
    )


def failing_workflow(server) -> dict[str, Any]:
    server.route("/orders", status=404, body={"message": "no such order"})
    return {
        "nodes": [
            {"id": "start", "type": "text.combine", "config": {"parts": ["go"]}},
            {"id": "fetch", "type": "http.request", "config": {"url": server.url("/orders")}},
        ],
        "edges": [{"from": "start", "to": "fetch"}],
    }


def queued(engine: Engine, definition: dict, alerts: dict | None, name: str = "Nightly orders") -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user", credits=1000)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, name, definition)
        workflow.notify_on_failure = alerts
        session.add(workflow)
        execution = queue_execution(session, workflow, trigger="schedule")
        session.commit()
        return execution.id


def alert_events(engine: Engine, execution_id: uuid.UUID) -> list[dict]:
    with Session(engine) as session:
        rows = session.execute(
            sa.select(ExecutionEvent.type, ExecutionEvent.payload)
            .where(ExecutionEvent.execution_id == execution_id)
            .order_by(ExecutionEvent.seq)
        ).all()
    return [payload for kind, payload in rows if kind == "log" and "alert" in payload]


async def run(engine: Engine, settings: Settings, execution_id: uuid.UUID, credentials=NO_CREDENTIALS):
    message = QueueMessage(execution_id)
    return await execute_message(engine, settings, message, worker_id="w", heartbeat_s=5, credentials=credentials)


async def test_a_failed_run_emails_and_posts_once(engine, alert_settings, server, start_server, mailbox) -> None:
    receiver = start_server()
    receiver.route("/hook", status=204)
    alerts = {"email": "ops@example.com", "webhook_url": receiver.url("/hook")}
    execution_id = queued(engine, failing_workflow(server), alerts)

    result = await run(engine, alert_settings, execution_id)

    assert result.status == "failed"
    [delivered] = mailbox.delivered
    assert (delivered.mail_from, delivered.rcpt_tos) == ("alerts@flow.example", ["ops@example.com"])
    assert delivered.message["Subject"] == "Workflow failed: Nightly orders"
    assert delivered.message["Message-ID"] == f"<fb-alert-{execution_id}@flow.example>"
    body = delivered.message.get_content()
    assert "Failed step: fetch (http.request)" in body
    assert "HTTP 404" in body and "no such order" in body
    assert f"See the run: https://flow.example/executions/{execution_id}" in body

    [posted] = receiver.received
    assert (posted.method, posted.path) == ("POST", "/hook")
    assert posted.headers["content-type"] == "application/json"
    assert posted.headers["idempotency-key"] == f"fb-alert-{execution_id}"
    report = posted.json()
    with Session(engine) as session:
        execution = session.get(Execution, execution_id)
        workflow_id, error = str(execution.workflow_id), execution.error
    assert report["event"] == "execution.failed"
    assert report["workflow"] == {"id": workflow_id, "name": "Nightly orders"}
    assert report["execution"]["id"] == str(execution_id)
    assert report["execution"]["error"] == error and "step 'fetch' failed" in error
    assert report["execution"]["url"] == f"https://flow.example/executions/{execution_id}"
    assert report["execution"]["api_url"] == f"https://flow.example/api/executions/{execution_id}"
    assert report["failed_step"]["node_id"] == "fetch"
    assert report["failed_step"]["node_type"] == "http.request"
    assert "HTTP 404" in report["failed_step"]["error"]

    claim, outcome = alert_events(engine, execution_id)
    assert claim["alert"] == "failure_alert"
    assert outcome["email"] == "sent to ops@example.com"
    assert outcome["webhook"] == "answered HTTP 204"

    assert await alert_if_failed(engine, alert_settings, execution_id, NO_CREDENTIALS) is None
    assert len(mailbox.delivered) == 1
    assert len(receiver.received) == 1


async def test_a_succeeded_run_sends_nothing(engine, alert_settings, server, mailbox) -> None:
    definition = {"nodes": [{"id": "start", "type": "text.combine", "config": {"parts": ["go"]}}]}
    execution_id = queued(engine, definition, {"email": "ops@example.com"})

    result = await run(engine, alert_settings, execution_id)

    assert result.status == "succeeded"
    assert mailbox.delivered == []
    assert alert_events(engine, execution_id) == []


async def test_no_alerts_configured_sends_nothing(engine, alert_settings, server, mailbox) -> None:
    execution_id = queued(engine, failing_workflow(server), None)

    result = await run(engine, alert_settings, execution_id)

    assert result.status == "failed"
    assert mailbox.delivered == []
    assert alert_events(engine, execution_id) == []


async def test_the_owners_smtp_credential_sends_the_email(engine, settings, server, mailbox) -> None:
    controller = start_smtp(mailbox, auth=True)
    values = {"type": "smtp", "host": "127.0.0.1", "port": controller.port, "username": "ops", "password": "pw",
              "security": "none", "from_address": "robot@corp.example"}  # fmt: skip
    alerts = {"email": "ops@example.com", "smtp_credential": "ops-mail"}
    execution_id = queued(engine, failing_workflow(server), alerts)

    try:
        await run(engine, settings, execution_id, InMemoryCredentialProvider({"ops-mail": values}))
    finally:
        controller.stop()

    [delivered] = mailbox.delivered
    assert delivered.mail_from == "robot@corp.example"
    assert delivered.login == "ops"


async def test_alert_failures_are_recorded_and_leave_the_execution_alone(
    engine, alert_settings, server, start_server, mailbox
) -> None:
    receiver = start_server()
    receiver.route("/hook", status=500, body="down")
    mailbox.refuse = {"ops@example.com": "550 5.1.1 no such user"}
    alerts = {"email": "ops@example.com", "webhook_url": receiver.url("/hook")}
    execution_id = queued(engine, failing_workflow(server), alerts)

    result = await run(engine, alert_settings, execution_id)

    assert result.status == "failed"
    _, outcome = alert_events(engine, execution_id)
    assert outcome["email"].startswith("failed: ") and "550" in outcome["email"]
    assert outcome["webhook"].startswith("failed: ") and "HTTP 500" in outcome["webhook"]
    with Session(engine) as session:
        execution = session.get(Execution, execution_id)
        assert execution.status == "failed"
        assert "step 'fetch' failed" in execution.error


async def test_the_webhook_passes_the_egress_guard(engine, alert_settings, server, start_server) -> None:
    receiver = start_server()
    receiver.route("/hook", status=204)
    execution_id = queued(engine, failing_workflow(server), {"webhook_url": receiver.url("/hook")})
    with Session(engine) as session:  # failed without running: only the alert meets the guard
        execution = session.get(Execution, execution_id)
        execution.status, execution.error = "failed", "boom"
        session.add(execution)
        session.commit()
    guarded = alert_settings.model_copy(update={"egress_allow_private": False})

    outcome = await alert_if_failed(engine, guarded, execution_id, NO_CREDENTIALS)

    assert outcome is not None and "refused: 127.0.0.1 is loopback" in outcome["webhook"]
    assert receiver.received == []


def test_the_dev_process_pool_alerts_too(engine, alert_settings, server, mailbox) -> None:
    execution_id = queued(engine, failing_workflow(server), {"email": "ops@example.com"})
    queue = InProcessQueue()
    pool = LocalWorkerPool(engine, queue, alert_settings, concurrency=1)
    pool.start()
    try:
        queue.dispatch([QueueMessage(execution_id)])
        assert pool.drain(timeout=20)
    finally:
        pool.stop(timeout=2)

    assert len(mailbox.delivered) == 1
    assert mailbox.delivered[0].rcpt_tos == ["ops@example.com"]


async def test_workers_alerting_at_once_send_one_email(engine, alert_settings, server, mailbox) -> None:
    execution_id = queued(engine, failing_workflow(server), {"email": "ops@example.com"})
    with Session(engine) as session:
        execution = session.get(Execution, execution_id)
        execution.status, execution.error = "failed", "boom"
        session.add(execution)
        session.commit()

    outcomes = await asyncio.gather(
        *(alert_if_failed(engine, alert_settings, execution_id, NO_CREDENTIALS) for _ in range(5))
    )

    assert sorted(outcome is None for outcome in outcomes) == [False, True, True, True, True]
    assert len(mailbox.delivered) == 1


def test_an_execution_the_reaper_gives_up_on_alerts_once(engine, alert_settings, server, mailbox, tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.scheduler.cloud_tick import run_cloud_tick
    from shared.scheduler.gate import FileGate
    from shared.scheduler.reaper import ReaperLimits

    execution_id = queued(engine, failing_workflow(server), {"email": "ops@example.com"})
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session:
        session.execute(
            sa.update(Execution)
            .where(Execution.id == execution_id)
            .values(status="running", attempt=3, heartbeat_at=long_ago, started_at=long_ago, worker_id="gone")
        )
        session.commit()
    limits = ReaperLimits(stale_after_s=60, max_attempts=3, undispatched_after_s=300)

    for _ in range(2):
        run_cloud_tick(engine, InProcessQueue(), FileGate(tmp_path / "gate"), limits, alert_settings=alert_settings)

    with Session(engine) as session:
        assert session.get(Execution, execution_id).status == "failed"
    assert len(mailbox.delivered) == 1
    assert "heartbeats" in mailbox.delivered[0].message.get_body(("plain",)).get_content()
