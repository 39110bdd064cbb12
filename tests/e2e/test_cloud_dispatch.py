"""The cloud data plane end to end: a workflow with a cron schedule, the scheduler's tick at a frozen
instant, the message on SQS (moto in server mode), and a worker: `python -m worker_image` as a
subprocess with the message in `FLOWBUILDER_MESSAGE` (what the EventBridge Pipe passes the Fargate
task), or the light-lane Lambda handler given the message as an SQS event. PostgreSQL in a scratch
database, so the tick sees only this test's schedules; steps call a local HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.crud import create_workflow
from shared.db.migrate import upgrade
from shared.db.models import Execution, StepRun, User
from shared.db.session import create_db_engine
from shared.queue.sqs import SqsDispatcher
from shared.scheduler.gate_dynamodb import DynamoDbGate
from shared.scheduler.tick import run_tick
from shared.settings import get_settings
from tests.support.http_server import RecordingServer, Reply
from tests.support.moto_server import REGION, create_gate_table, fake_aws_environment, moto_server
from tests.support.postgres import scratch_database
from worker_image import light_lambda

ROOT = Path(__file__).resolve().parents[2]
FIRE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
NOW = FIRE + timedelta(seconds=20)


@dataclass
class Cloud:
    endpoint: str
    database_url: str
    engine: Engine
    sqs: Any
    light_url: str
    browser_url: str
    gate_table: str

    def environment(self) -> dict[str, str]:
        """What the infrastructure gives the workers, pointing at moto and the scratch database."""
        return {
            "FLOWBUILDER_MODE": "aws",
            "FLOWBUILDER_DATABASE_URL": self.database_url,
            "FLOWBUILDER_AWS_REGION": REGION,
            "FLOWBUILDER_AWS_ENDPOINT_URL": self.endpoint,
            "FLOWBUILDER_LIGHT_QUEUE_URL": self.light_url,
            "FLOWBUILDER_BROWSER_QUEUE_URL": self.browser_url,
            "FLOWBUILDER_GATE_TABLE": self.gate_table,
            "FLOWBUILDER_EGRESS_ALLOW_PRIVATE": "true",
        }

    def tick(self) -> None:
        dispatcher = SqsDispatcher(self.light_url, self.browser_url, region=REGION, endpoint_url=self.endpoint)
        gate = DynamoDbGate(self.gate_table, region=REGION, endpoint_url=self.endpoint)
        report = run_tick(self.engine, dispatcher, gate, now=NOW)
        assert (report.due, report.created, report.dispatched) == (1, 1, 1)

    def receive_one(self, queue_url: str) -> dict[str, Any]:
        got = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        [message] = got["Messages"]
        return message


@pytest.fixture
def cloud(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cloud]:
    fake_aws_environment(monkeypatch, tmp_path)
    with moto_server() as endpoint, scratch_database(postgres_admin_url, prefix="fb_cloud") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        suffix = uuid.uuid4().hex[:8]  # moto's backends outlive one server in this process
        light, browser = (sqs.create_queue(QueueName=f"{lane}-{suffix}")["QueueUrl"] for lane in ("light", "browser"))
        create_gate_table(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), f"gate-{suffix}")
        try:
            yield Cloud(endpoint, url, engine, sqs, light, browser, f"gate-{suffix}")
        finally:
            engine.dispose()


def scheduled_workflow(engine: Engine, definition: dict[str, Any]) -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user", credits=1000)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "every five minutes", definition, status="active")
        workflow.cron, workflow.schedule_enabled, workflow.next_run_at = "*/5 * * * *", True, FIRE
        session.add(workflow)
        session.commit()
        return workflow.id


def the_execution(engine: Engine, workflow_id: uuid.UUID) -> tuple[Execution, dict[str, str]]:
    with Session(engine) as session:
        [execution] = session.exec(select(Execution).where(Execution.workflow_id == workflow_id)).all()
        steps = session.exec(select(StepRun).where(StepRun.execution_id == execution.id)).all()
        return execution, {step.node_id: step.status for step in steps}


def http_step(server: RecordingServer, node_id: str) -> dict[str, Any]:
    server.route(f"/{node_id}", Reply(body={"step": node_id}))
    return {"id": node_id, "type": "http.request", "config": {"url": server.url(f"/{node_id}")}}


def test_a_scheduled_browser_lane_run_goes_through_sqs_to_the_fargate_worker(cloud, server):
    """The browser step sits on an untaken branch: the workflow is routed to the browser queue,
    and the worker finishes it without starting Chromium."""
    definition = {
        "nodes": [
            http_step(server, "fetch"),
            {"id": "check", "type": "logic.condition", "config": {"expr": "nodes.fetch.output.status == 500"}},
            {"id": "look", "type": "browser.goto", "config": {"url": server.url("/page")}},
            http_step(server, "report"),
        ],
        "edges": [
            {"from": "fetch", "to": "check"},
            {"from": "check", "to": "look", "when": "true"},
            {"from": "fetch", "to": "report"},
        ],
    }
    workflow_id = scheduled_workflow(cloud.engine, definition)

    cloud.tick()
    message = cloud.receive_one(cloud.browser_url)
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLOWBUILDER_")}
    env.update(cloud.environment(), PYTHONPATH=str(ROOT), FLOWBUILDER_MESSAGE=message["Body"])
    worker = subprocess.run(
        [sys.executable, "-m", "worker_image"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert worker.returncode == 0, worker.stderr
    execution, steps = the_execution(cloud.engine, workflow_id)
    assert json.loads(message["Body"]) == {"execution_id": str(execution.id), "attempt": 1}
    assert (execution.status, execution.trigger, execution.scheduled_for, execution.lane) == (
        "succeeded",
        "schedule",
        FIRE,
        "browser",
    )
    assert steps == {"fetch": "succeeded", "check": "succeeded", "look": "skipped", "report": "succeeded"}
    assert execution.worker_id.startswith("task-")
    assert [received.path for received in server.received].count("/report") == 1


@dataclass
class LambdaContext:
    remaining_ms: int = 60_000
    function_name: str = "flowbuilder-light-worker"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:flowbuilder-light-worker"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller builds from a received message."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def test_a_scheduled_light_lane_run_goes_through_sqs_to_the_lambda_worker(cloud, server, monkeypatch, tmp_path):
    definition = {
        "nodes": [http_step(server, "fetch"), http_step(server, "save")],
        "edges": [{"from": "fetch", "to": "save"}],
    }
    workflow_id = scheduled_workflow(cloud.engine, definition)
    for name, value in cloud.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLOWBUILDER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    light_lambda.light_lane_worker.cache_clear()

    try:
        cloud.tick()
        message = cloud.receive_one(cloud.light_url)
        arn = cloud.sqs.get_queue_attributes(QueueUrl=cloud.light_url, AttributeNames=["QueueArn"])["Attributes"]
        response = light_lambda.handler(sqs_event(message, arn["QueueArn"]), LambdaContext())
    finally:
        light_lambda.light_lane_worker().engine.dispose()
        light_lambda.light_lane_worker.cache_clear()
        get_settings.cache_clear()

    assert response == {"batchItemFailures": []}
    execution, steps = the_execution(cloud.engine, workflow_id)
    assert (execution.status, execution.trigger, execution.lane) == ("succeeded", "schedule", "light")
    assert steps == {"fetch": "succeeded", "save": "succeeded"}
    assert execution.worker_id == "lambda-request-1"
    assert cloud.sqs.receive_message(QueueUrl=cloud.browser_url).get("Messages") is None
