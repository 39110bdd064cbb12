"""The dispatcher workers re-dispatch handed-back executions through: SQS when the settings name
the queues, none otherwise (the scheduler's outbox then sends them on its next tick)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.queue.dispatcher import Dispatcher
    from shared.settings import Settings


def dispatcher_from_settings(settings: Settings) -> Dispatcher | None:
    if not (settings.light_queue_url and settings.browser_queue_url):
        return None
    from shared.queue.sqs import SqsDispatcher  # boto3 is imported only where the queues exist

    return SqsDispatcher(
        settings.light_queue_url,
        settings.browser_queue_url,
        region=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        retries=settings.sqs_send_retries,
    )
