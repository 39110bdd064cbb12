"""Scheduler dispatch: N due workflows on PostgreSQL to SQS (moto in server mode), through `run_tick`.

    python -m bench.scheduler_dispatch [--sizes 1000 10000] [--batch-size 200] [--admin-url URL]

Per size: a scratch database (on the local PostgreSQL, or the server of --admin-url) with N
workflows due at a frozen instant, a moto server with the light and browser queues and the
DynamoDB gate; then ticks until every execution is dispatched. Prints one line per size: wall time
of the ticks, database round trips (SQLAlchemy `before_cursor_execute` events) and SQS calls
(SendMessageBatch). Goal: 10,000 in <= 10 s, linear in N. The queues are emptied in moto's backend
after each call (see `aws_parts`); moto still answers more slowly than SQS, so the SQS share here
is pessimistic."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.migrate import upgrade
from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.session import create_db_engine
from shared.queue.sqs import SqsDispatcher
from shared.scheduler.gate_dynamodb import DynamoDbGate
from shared.scheduler.tick import run_tick

REGION = "eu-west-1"
FIRE_TIME = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
NOW = FIRE_TIME + timedelta(seconds=20)
DEFINITION = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}


def seed(engine: Engine, count: int) -> None:
    """`count` hourly workflows due at FIRE_TIME, written in a few multi-row INSERTs."""
    owner = uuid.uuid4()
    workflows = [
        {
            "id": uuid.uuid4(),
            "owner_id": owner,
            "name": f"bench {i}",
            "description": "",
            "status": "active",
            "current_version": 1,
            "cron": "0 * * * *",
            "timezone": "UTC",
            "schedule_enabled": True,
            "misfire_policy": "skip",
            "next_run_at": FIRE_TIME,
        }
        for i in range(count)
    ]
    versions = [{"id": uuid.uuid4(), "workflow_id": w["id"], "version": 1, "definition": DEFINITION} for w in workflows]
    with engine.begin() as conn:
        conn.execute(sa.insert(User).values(id=owner, kind="user", credits=10**9))
        for start in range(0, count, 1000):
            conn.execute(sa.insert(Workflow), workflows[start : start + 1000])
            conn.execute(sa.insert(WorkflowVersion), versions[start : start + 1000])


def aws_parts(endpoint: str) -> tuple[SqsDispatcher, DynamoDbGate, list[int]]:
    import boto3

    suffix = uuid.uuid4().hex[:8]
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    light = sqs.create_queue(QueueName=f"light-{suffix}")["QueueUrl"]
    browser = sqs.create_queue(QueueName=f"browser-{suffix}")["QueueUrl"]
    dynamodb.create_table(
        TableName=f"gate-{suffix}",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    calls: list[int] = []
    target: list[str] = []

    def remember_queue(params, **_) -> None:
        target[:] = [params["QueueUrl"].rsplit("/", 1)[-1]]

    def count_and_empty(parsed, **_) -> None:
        """moto's send cost grows with queue depth (it rescans the queue per message); SQS's does
        not. Emptying the queue in moto's in-process backend after each call keeps that out."""
        calls.append(len(parsed.get("Successful", [])))
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[target[0]]._messages.clear()

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", remember_queue)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", count_and_empty)
    return SqsDispatcher(light, browser, client=sqs), DynamoDbGate(f"gate-{suffix}", client=dynamodb), calls


def measure(engine: Engine, endpoint: str, count: int, batch_size: int) -> tuple[float, int, int]:
    seed(engine, count)
    dispatcher, gate, sqs_calls = aws_parts(endpoint)
    round_trips: list[int] = []
    listener = lambda *_: round_trips.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    try:
        for _ in range(10):
            gate.set(None)
            report = run_tick(engine, dispatcher, gate, now=NOW, batch_size=batch_size)
            if not report.failed_dispatches and report.dispatched >= count:
                break
    finally:
        elapsed = time.perf_counter() - started
        sa.event.remove(engine, "before_cursor_execute", listener)
    with engine.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).where(Execution.dispatched_at.is_not(None))).scalar()
    if sent != count or sum(sqs_calls) != count:
        raise SystemExit(f"{count} due: {sent} stamped dispatched, {sum(sqs_calls)} accepted by SQS")
    return elapsed, len(round_trips), len(sqs_calls)


def fake_aws_environment(stack: ExitStack) -> None:
    """Keep boto3 away from real AWS: test credentials, no config files."""
    empty = stack.enter_context(tempfile.TemporaryDirectory())
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(empty, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(empty, "credentials"),
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--admin-url", help="PostgreSQL admin URL for the scratch databases; default: the local one")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    with ExitStack() as stack:
        fake_aws_environment(stack)
        from tests.support.moto_server import moto_server

        endpoint = stack.enter_context(moto_server())  # in this process: `aws_parts` empties its queues
        from tests.support.postgres import postgres_server, scratch_database

        admin_url = args.admin_url or stack.enter_context(postgres_server())
        for count in args.sizes:
            with ExitStack() as per_size:
                url = per_size.enter_context(scratch_database(admin_url, prefix="fb_bench"))
                engine = create_db_engine(url)
                per_size.callback(engine.dispose)
                upgrade(engine)
                elapsed, round_trips, sqs_calls = measure(engine, endpoint, count, args.batch_size)
            print(f"{count} due: {elapsed:.1f} s, {round_trips} round trips, {sqs_calls} SQS calls", flush=True)


if __name__ == "__main__":
    main()
