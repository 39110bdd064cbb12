"""Worker fixtures: PostgreSQL shared with worker subprocesses, workflows of `http.request` steps
that call a recording server, and a way to start `python -m worker_image`."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.crud import create_workflow, queue_execution
from shared.db.models import Execution, StepRun, User
from tests.support.http_server import RecordingServer, Reply
from tests.support.moto_server import REGION, fake_aws_environment, moto_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def chain(server: RecordingServer, *paths: str) -> dict[str, Any]:
    """A workflow of `http.request` steps, one per path, each after the one before; paths without
    a route yet answer 200."""
    for path in paths:
        server.routes.setdefault(f"/{path}", Reply(body={"path": path}))
    nodes = [{"id": path, "type": "http.request", "config": {"url": server.url(f"/{path}")}} for path in paths]
    edges = [{"from": a, "to": b} for a, b in itertools.pairwise(paths)]
    return {"nodes": nodes, "edges": edges}


def calls(server: RecordingServer, path: str) -> int:
    return sum(1 for received in list(server.received) if received.path == f"/{path}")


def queued(engine: Engine, definition: dict[str, Any], lane: str = "browser") -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user", credits=1000)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "worker test", definition)
        execution_id = queue_execution(session, workflow, trigger="manual", lane=lane).id
        session.commit()
        return execution_id


def execution(engine: Engine, execution_id: uuid.UUID) -> Execution:
    with Session(engine) as session:
        return session.get(Execution, execution_id)


def step_statuses(engine: Engine, execution_id: uuid.UUID) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(select(StepRun).where(StepRun.execution_id == execution_id))
        return {row.node_id: row.status for row in rows}


def message(execution_id: uuid.UUID, attempt: int = 1) -> str:
    return json.dumps({"execution_id": str(execution_id), "attempt": attempt})


def wait_until(condition: Callable[[], bool], timeout: float = 20, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@dataclass
class WorkerProcess:
    process: subprocess.Popen

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.process.stderr.read().decode() if self.process.stderr else ""


@pytest.fixture
def pg_engine(migrated_engines: dict[str, Engine]) -> Engine:
    return migrated_engines["postgresql"]


@pytest.fixture
def start_worker(database_urls: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `python -m worker_image` against the test run's PostgreSQL database."""
    started: list[WorkerProcess] = []

    def start(body: str | None, *args: str, **settings: Any) -> WorkerProcess:
        env = {name: value for name, value in os.environ.items() if not name.startswith("FLOWBUILDER_")}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            FLOWBUILDER_MODE="local",
            FLOWBUILDER_DATABASE_URL=database_urls["postgresql"],
            FLOWBUILDER_DATA_DIR=str(tmp_path / "data"),
            FLOWBUILDER_EGRESS_ALLOW_PRIVATE="true",
            FLOWBUILDER_WORKER_HEARTBEAT_S="0.5",
        )
        env.update({f"FLOWBUILDER_{name.upper()}": str(value) for name, value in settings.items()})
        if body is not None:
            env["FLOWBUILDER_MESSAGE"] = body
        command = [sys.executable, "-m", "worker_image", *args]
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE)
        started.append(WorkerProcess(process))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


@pytest.fixture
def queues(monkeypatch, tmp_path) -> Iterator[tuple[str, str, str]]:
    """(endpoint, light queue URL, browser queue URL) on a fresh moto server."""
    fake_aws_environment(monkeypatch, tmp_path)
    with moto_server() as endpoint:
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        suffix = uuid.uuid4().hex[:8]  # moto's backends outlive a server: a reused name keeps old messages
        urls = [sqs.create_queue(QueueName=f"{lane}-{suffix}")["QueueUrl"] for lane in ("light", "browser")]
        yield endpoint, *urls


def receive(endpoint: str, queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(entry["Body"]) for entry in response.get("Messages", [])]
