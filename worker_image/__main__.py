"""`python -m worker_image`: the browser lane's Fargate task, one execution per task.

The message comes from `FLOWBUILDER_MESSAGE` (the EventBridge Pipe's container override fills it
with the SQS body, `{"execution_id": "<uuid>", "attempt": <int>}`) or from `--execution-id ID`.
The execution is claimed (`queued` -> `running`), run with a heartbeat every
`worker_heartbeat_s`, and on SIGTERM (Fargate Spot's two-minute notice) drained: no new steps,
running ones get up to `worker_drain_deadline_s`, then it goes back to `queued` with
`attempt + 1` and, when the queue URLs are set, is re-dispatched to the browser queue (otherwise
the scheduler's outbox sends it).

Exit codes:

| code | meaning                                                             |
|------|---------------------------------------------------------------------|
| 0    | the execution succeeded, or the message was dropped (not `queued`)  |
| 1    | the execution failed or was cancelled                               |
| 2    | bad message or usage                                                |
| 3    | handed back after SIGTERM (the next attempt resumes it)             |
| 4    | unexpected error                                                    |
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import uuid

import worker_image.lean  # noqa: F401  (first: see its docstring)
from shared.queue.messages import QueueMessage

logger = logging.getLogger("flowbuilder.worker")

MESSAGE_ENV = "FLOWBUILDER_MESSAGE"
LANE = "browser"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HANDED_BACK, EXIT_ERROR = 0, 1, 2, 3, 4
EXIT_CODES = {"succeeded": EXIT_OK, "dropped": EXIT_OK, "failed": EXIT_FAILED, "cancelled": EXIT_FAILED}


class BadMessage(Exception):
    pass


def read_message(argv: list[str] | None, environ: dict[str, str]) -> QueueMessage:
    parser = argparse.ArgumentParser(prog="python -m worker_image", description="Run one queued execution.")
    parser.add_argument("--execution-id", help=f"run this execution instead of the message in ${MESSAGE_ENV}")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed why
        raise BadMessage("bad arguments") from exc
    if args.execution_id:
        try:
            return QueueMessage(uuid.UUID(args.execution_id), lane=LANE)
        except ValueError as exc:
            raise BadMessage(f"--execution-id is not a UUID: {args.execution_id!r}") from exc
    body = environ.get(MESSAGE_ENV)
    if not body:
        raise BadMessage(f"no message: set ${MESSAGE_ENV} or pass --execution-id")
    try:
        return QueueMessage.from_body(body, LANE)
    except ValueError as exc:
        raise BadMessage(str(exc)) from exc


async def run_task(message: QueueMessage) -> int:
    from shared.db.session import create_db_engine
    from shared.settings import get_settings
    from shared.workers.execute import Redispatch, execute_message
    from shared.workers.queues import dispatcher_from_settings

    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    dispatcher = dispatcher_from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _stop_on_signal, stop, signum)
    try:
        result = await execute_message(
            engine,
            settings,
            message,
            worker_id=f"task-{socket.gethostname()}-{os.getpid()}",
            heartbeat_s=settings.worker_heartbeat_s,
            on_handback=Redispatch(dispatcher, LANE) if dispatcher is not None else None,
            stop=stop,
            drain_s=settings.worker_drain_deadline_s,
        )
    finally:
        engine.dispose()
    logger.info("execution %s: %s", result.execution_id, result.status)
    return EXIT_HANDED_BACK if result.status == "handed_back" else EXIT_CODES[result.status]


def _stop_on_signal(stop: asyncio.Event, signum: int) -> None:
    logger.info("%s: draining", signal.Signals(signum).name)
    stop.set()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s: %(message)s")
    try:
        message = read_message(argv, dict(os.environ))
    except BadMessage as exc:
        logger.error("%s", exc)
        return EXIT_USAGE
    try:
        return asyncio.run(run_task(message))
    except Exception:
        logger.exception("execution %s: unexpected error", message.execution_id)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
