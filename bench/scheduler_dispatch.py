"""Scheduler dispatch: N due workflows on PostgreSQL to SQS (moto in server mode), through `run_tick`.

    python -m bench.scheduler_dispatch [--sizes 1000 10000] [--batch-size 500] [--admin-url URL]
                                       [--moto-in-process]

Per size: a scratch database (on the local PostgreSQL, or the server of --admin-url) with N
workflows due at a frozen instant, a moto server with the light and browser queues and the
DynamoDB gate; then ticks until every execution is dispatched. Prints one line per size: wall time
of the ticks, database round trips (SQLAlchemy `before_cursor_execute` events) and SQS calls
(SendMessageBatch), then the CPU time this process spent (all its threads): the wall time depends on
the machine's load, the CPU time much less. Goal: 10,000 in <= 10 s, linear in N.

moto runs in a process of its own (`--serve-moto`), as SQS is remote in production: in this
process it would compete with the code measured for the GIL. moto's send cost grows with queue
depth (it rescans the queue per message) and SQS's does not, so the moto process empties a queue
after each SendMessageBatch. moto still answers more slowly than SQS, so the SQS share here is
pessimistic. `--moto-in-process` gives the earlier setup, for comparison."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.migrate import upgrade
from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.session import create_db_engine
from shared.queue.sqs import SqsDispatcher
from shared.scheduler.gate_dynamodb import DynamoDbGate
from shared.scheduler.tick import DEFAULT_BATCH, run_tick

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


def aws_parts(endpoint: str, *, empty_in_process: bool = False) -> tuple[SqsDispatcher, DynamoDbGate, list[int]]:
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

    def count(parsed, **_) -> None:
        calls.append(len(parsed.get("Successful", [])))  # list.append is atomic: calls come from threads
        if empty_in_process:
            for url in (light, browser):
                _empty_queue(url.rsplit("/", 1)[-1])

    dispatcher = SqsDispatcher(light, browser, region=REGION, endpoint_url=endpoint)  # its own client, as deployed
    dispatcher.client.meta.events.register("after-call.sqs.SendMessageBatch", count)
    return dispatcher, DynamoDbGate(f"gate-{suffix}", client=dynamodb), calls


def _empty_queue(name: str) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[name]._messages.clear()


def serve_moto(port: int) -> None:
    """The moto server of `--serve-moto`: every SendMessageBatch empties its queue afterwards."""
    from moto.server import ThreadedMotoServer
    from moto.sqs.models import SQSBackend

    send_batch = SQSBackend.send_message_batch

    def send_and_empty(self, queue_name, entries):
        result = send_batch(self, queue_name, entries)
        self.get_queue(queue_name)._messages.clear()
        return result

    SQSBackend.send_message_batch = send_and_empty
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


@contextmanager
def moto_process() -> Iterator[str]:
    from tests.support.moto_server import free_port

    port = free_port()
    command = [sys.executable, "-m", "bench.scheduler_dispatch", "--serve-moto", str(port)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("the moto server process did not start")
        endpoint = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=10).close()
        yield endpoint
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def measure(
    engine: Engine, endpoint: str, count: int, batch_size: int, *, empty_in_process: bool = False
) -> tuple[float, float, int, int]:
    seed(engine, count)
    dispatcher, gate, sqs_calls = aws_parts(endpoint, empty_in_process=empty_in_process)
    round_trips: list[int] = []
    listener = lambda *_: round_trips.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        for _ in range(10):
            gate.set(None)
            report = run_tick(engine, dispatcher, gate, now=NOW, batch_size=batch_size)
            if not report.failed_dispatches and report.dispatched >= count:
                break
    finally:
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sa.event.remove(engine, "before_cursor_execute", listener)
    with engine.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).where(Execution.dispatched_at.is_not(None))).scalar()
    if sent != count or sum(sqs_calls) != count:
        raise SystemExit(f"{count} due: {sent} stamped dispatched, {sum(sqs_calls)} accepted by SQS")
    return elapsed, cpu, len(round_trips), len(sqs_calls)


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
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--admin-url", help="PostgreSQL admin URL for the scratch databases; default: the local one")
    parser.add_argument("--moto-in-process", action="store_true", help="run moto in this process (the old setup)")
    parser.add_argument("--serve-moto", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    with ExitStack() as stack:
        fake_aws_environment(stack)
        if args.serve_moto:
            serve_moto(args.serve_moto)
            return
        if args.moto_in_process:
            from tests.support.moto_server import moto_server

            endpoint = stack.enter_context(moto_server())
        else:
            endpoint = stack.enter_context(moto_process())
        from tests.support.postgres import postgres_server, scratch_database

        admin_url = args.admin_url or stack.enter_context(postgres_server())
        for count in args.sizes:
            with ExitStack() as per_size:
                url = per_size.enter_context(scratch_database(admin_url, prefix="fb_bench"))
                engine = create_db_engine(url)
                per_size.callback(engine.dispose)
                upgrade(engine)
                elapsed, cpu, round_trips, sqs_calls = measure(
                    engine, endpoint, count, args.batch_size, empty_in_process=args.moto_in_process
                )
            print(f"{count} due: {elapsed:.1f} s, {round_trips} round trips, {sqs_calls} SQS calls", flush=True)
            print(f"  ({cpu:.1f} s of CPU in this process: the tick's own cost, whatever the machine's load)")


if __name__ == "__main__":
    main()
