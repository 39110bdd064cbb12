"""The light lane's Lambda worker: each SQS record is one execution, claimed and run like the
Fargate task does (`execute_message`), with a deadline guard.

Partial batch failures: a record whose processing raises (a malformed body, the database out of
reach) is reported in `batchItemFailures`, so only it comes back (and ends in the DLQ after
`maxReceiveCount`); a dropped duplicate or a failed execution is a processed record.

The guard: an execution must be handed back `worker_lambda_safety_margin_s` before the invocation's
deadline. Draining starts `worker_lambda_drain_s` earlier; then the execution goes back to `queued`
with `attempt + 1` on the browser lane (Fargate has no such deadline), never the light queue again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from shared.queue.messages import QueueMessage
from shared.workers.execute import Redispatch, WorkerResult, execute_message

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from sqlalchemy.engine import Engine

    from shared.queue.dispatcher import Dispatcher
    from shared.settings import Settings

logger = logging.getLogger("flowbuilder.worker")

LANE = "light"
HANDBACK_LANE = "browser"


class LightLaneWorker:
    def __init__(self, engine: Engine, settings: Settings, dispatcher: Dispatcher | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.dispatcher = dispatcher

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """The SQS event's records, one after another; returns `{"batchItemFailures": [...]}`."""
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(
            event=event, record_handler=self.handle_record, processor=processor, context=context
        )

    def handle_record(self, record: SQSRecord, lambda_context: LambdaContext) -> str:
        message = QueueMessage.from_body(record.body, LANE)  # ValueError: this record fails
        remaining_s = lambda_context.get_remaining_time_in_millis() / 1000
        deadline = time.monotonic() + remaining_s - self.settings.worker_lambda_safety_margin_s
        result = asyncio.run(self.execute(message, deadline, getattr(lambda_context, "aws_request_id", "local")))
        return result.status

    async def execute(self, message: QueueMessage, deadline: float, request_id: str) -> WorkerResult:
        redispatch = Redispatch(self.dispatcher, HANDBACK_LANE) if self.dispatcher is not None else None
        result = await execute_message(
            self.engine,
            self.settings,
            message,
            worker_id=f"lambda-{request_id}",
            heartbeat_s=self.settings.worker_heartbeat_s,
            deadline=deadline,
            on_handback=redispatch,
            drain_s=self.settings.worker_lambda_drain_s,
        )
        if result.status == "handed_back":
            logger.info("execution %s: past the Lambda's deadline; re-routed to the browser lane", message.execution_id)
        return result
