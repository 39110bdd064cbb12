"""The scheduler Lambda's handler, invoked in-process with a fake context: settings from the
environment, PostgreSQL (a scratch database), SQS and DynamoDB on moto in server mode."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from shared.db.crud import create_workflow
from shared.db.migrate import upgrade
from shared.db.models import Execution, User
from shared.db.session import create_db_engine
from shared.settings import get_settings
from tests.support.moto_server import REGION, create_gate_table
from tests.support.postgres import scratch_database

HELLO = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}


@dataclass
class FakeContext:
    function_name: str = "flowbuilder-scheduler"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:flowbuilder-scheduler"
    aws_request_id: str = "request-1"


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, prefix="fb_lambda") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def cloud(aws_env, moto_endpoint: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """The scheduler's environment as the infrastructure sets it, pointing at moto and PostgreSQL."""
    from shared.scheduler import cloud_tick

    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)
    suffix = uuid.uuid4().hex[:8]
    queues = {lane: sqs.create_queue(QueueName=f"{lane}-{suffix}")["QueueUrl"] for lane in ("light", "browser")}
    create_gate_table(dynamodb, f"gate-{suffix}")
    for name, value in {
        "FLOWBUILDER_MODE": "aws",
        "FLOWBUILDER_DATABASE_URL": database_url,
        "FLOWBUILDER_AWS_REGION": REGION,
        "FLOWBUILDER_AWS_ENDPOINT_URL": moto_endpoint,
        "FLOWBUILDER_LIGHT_QUEUE_URL": queues["light"],
        "FLOWBUILDER_BROWSER_QUEUE_URL": queues["browser"],
        "FLOWBUILDER_GATE_TABLE": f"gate-{suffix}",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield {"sqs": sqs, "queues": queues, "engine": cloud_tick._engine(database_url)}
    get_settings.cache_clear()
    cloud_tick._engine(database_url).dispose()
    cloud_tick._engine.cache_clear()


def due_workflow(engine) -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user", credits=100)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "every minute", HELLO)
        workflow.cron, workflow.schedule_enabled = "* * * * *", True
        workflow.next_run_at = datetime.now(UTC).replace(second=0, microsecond=0)
        session.add(workflow)
        session.commit()
        return workflow.id


def light_queue_bodies(cloud: dict) -> list[dict]:
    got = cloud["sqs"].receive_message(QueueUrl=cloud["queues"]["light"], MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in got.get("Messages", [])]


def test_a_due_workflow_ends_as_a_message_on_the_light_queue(cloud, capsys):
    from scheduler_lambda.handler import handler

    workflow_id = due_workflow(cloud["engine"])

    result = handler({"id": "event-1", "source": "aws.scheduler"}, FakeContext())

    with Session(cloud["engine"]) as session:
        queued = session.exec(sa.select(Execution).where(Execution.workflow_id == workflow_id)).scalars().all()
    # one fire time; two only if the minute turned between making the workflow and the tick
    assert result["due"] == 1 and result["dispatched"] == len(queued) >= 1
    assert sorted(b["execution_id"] for b in light_queue_bodies(cloud)) == sorted(str(e.id) for e in queued)
    assert all(execution.dispatched_at is not None for execution in queued)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = emitted[-1]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FlowBuilder"
    assert (metrics["Due"], metrics["Dispatched"], metrics["FailedDispatches"]) == ([1.0], [len(queued)], [0.0])
    assert 0 <= metrics["ScheduleLag"][0] < 120


def test_a_second_tick_with_nothing_due_stays_behind_the_gate(cloud):
    from scheduler_lambda.handler import handler

    due_workflow(cloud["engine"])
    handler({"id": "event-1"}, FakeContext())
    statements: list[str] = []
    sa.event.listen(cloud["engine"], "before_cursor_execute", lambda *args: statements.append(args[2]))

    result = handler({"id": "event-2"}, FakeContext(aws_request_id="request-2"))

    assert result["gate_closed"] is True
    assert statements == []


def test_guest_cleanup_and_refused_runs_are_counted_in_metrics_and_the_log(cloud, capsys, caplog):
    from scheduler_lambda.handler import handler

    now = datetime.now(UTC)
    paid = {"nodes": [{"id": "call", "type": "http.request", "config": {"url": "https://example.com/"}}], "edges": []}
    with Session(cloud["engine"]) as session:
        broke = User(kind="user", credits=0)
        ended = User(kind="guest", credits=25, trial_expires_at=now - timedelta(hours=1))
        long_gone = User(kind="guest", credits=25, trial_expires_at=now - timedelta(days=30))
        session.add_all([broke, ended, long_gone])
        session.flush()
        for owner, definition in ((broke, paid), (ended, HELLO)):
            workflow, _ = create_workflow(session, owner.id, "every minute", definition)
            workflow.cron, workflow.schedule_enabled = "* * * * *", True
            workflow.next_run_at = now.replace(second=0, microsecond=0)
            session.add(workflow)
        session.commit()
        long_gone_id = long_gone.id

    result = handler({"id": "event-1"}, FakeContext())

    assert result["out_of_credits"] == 1
    assert result["guest_cleanup"]["ran"] is True
    assert (result["guest_cleanup"]["schedules_disabled"], result["guest_cleanup"]["guests_deleted"]) == (1, 1)
    with Session(cloud["engine"]) as session:
        assert session.get(User, long_gone_id) is None
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line][-1]
    assert (metrics["OutOfCreditsRuns"], metrics["GuestSchedulesDisabled"], metrics["GuestsDeleted"]) == (
        [1.0],
        [1.0],
        [1.0],
    )
    [logged] = [record for record in caplog.records if record.getMessage() == "guest cleanup"]
    assert (logged.guests_deleted, logged.schedules_disabled) == (1, 1)
