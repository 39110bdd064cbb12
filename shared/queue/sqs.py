"""The SQS backend: each message goes to its lane's queue (ARCHITECTURE.md, "Lanes"), ten per
`SendMessageBatch` call, up to `concurrency` calls in flight (and as many pooled connections).

Entries SQS reports in a response's `Failed` list are sent again with backoff, up to `retries`
times, then reported failed; they stay in the outbox for the next tick. A call that raises (the
network, throttling past botocore's own retries) marks its ten entries failed at once: retrying a
queue in trouble inside one tick only makes the tick slower.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.queue.dispatcher import DispatchResult
from shared.queue.messages import QueueMessage

logger = logging.getLogger("flowbuilder.queue")

BATCH = 10
"""SQS's limit of entries per SendMessageBatch."""


class SqsDispatcher:
    def __init__(
        self,
        light_queue_url: str,
        browser_queue_url: str,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        *,
        retries: int = 3,
        backoff_s: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = 16,
    ) -> None:
        self.queue_urls = {"light": light_queue_url, "browser": browser_queue_url}
        self.region, self.endpoint_url = region, endpoint_url
        self.retries, self.backoff_s, self._sleep = retries, backoff_s, sleep
        self._client = client
        self._client_lock = threading.Lock()
        self.concurrency = concurrency
        self._executor: ThreadPoolExecutor | None = None

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use (not at import, not per call) and reused."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(max_pool_connections=max(10, self.concurrency))
                    self._client = boto3.client(
                        "sqs", region_name=self.region, endpoint_url=self.endpoint_url, config=config
                    )
        return self._client

    def dispatch(self, messages: Sequence[QueueMessage]) -> DispatchResult:
        result = DispatchResult()
        by_queue: dict[str, list[QueueMessage]] = {}
        for message in messages:
            by_queue.setdefault(self._queue_url(message.lane), []).append(message)
        batches = [
            (queue_url, queued[start : start + BATCH])
            for queue_url, queued in by_queue.items()
            for start in range(0, len(queued), BATCH)
        ]
        if len(batches) > 1 and self.concurrency > 1:
            outcomes = list(self._pool().map(lambda batch: self._send_batch(*batch), batches))
        else:
            outcomes = [self._send_batch(*batch) for batch in batches]
        for sent, failed in outcomes:
            result.sent += sent
            result.failed += failed
        return result

    def _pool(self) -> ThreadPoolExecutor:
        """Calls in flight at once: a call takes a network round trip, so 1,000 of them one after the
        other would take most of a tick. boto3 clients are thread-safe; the client made here pools
        one connection per thread."""
        with self._client_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sqs-send")
        return self._executor

    def _queue_url(self, lane: str) -> str:
        """A lane this code does not know runs where anything can run: the browser queue."""
        return self.queue_urls.get(lane, self.queue_urls["browser"])

    def _send_batch(self, queue_url: str, batch: list[QueueMessage]) -> tuple[list[QueueMessage], list[QueueMessage]]:
        pending = {str(index): message for index, message in enumerate(batch)}
        sent: list[QueueMessage] = []
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            entries = [{"Id": entry_id, "MessageBody": message.body()} for entry_id, message in pending.items()]
            try:
                response = self.client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception:
                logger.exception("SendMessageBatch of %d message(s) to %s raised", len(entries), queue_url)
                return sent, list(pending.values())
            sent += [pending.pop(entry["Id"]) for entry in response.get("Successful", []) if entry["Id"] in pending]
            failures = response.get("Failed", [])
            if not pending:
                return sent, []
            if any(failure.get("SenderFault") for failure in failures):
                break  # the request itself is wrong: sending it again cannot help
            logger.warning("SendMessageBatch: %d entr(ies) failed, attempt %d", len(pending), attempt + 1)
        return sent, list(pending.values())
