"""Dispatching executions to workers: the message, the dispatcher interface and its backends
(in-process here; SQS in the cloud data plane)."""

from shared.queue.dispatcher import Dispatcher, DispatchResult
from shared.queue.messages import QueueMessage

__all__ = ["DispatchResult", "Dispatcher", "QueueMessage"]
