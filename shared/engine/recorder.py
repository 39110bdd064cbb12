"""Buffers an execution's step writes and events and flushes them in one transaction each.

The runner is the only writer of its execution while it holds the claim, so `seq` is counted
here: gap-free and in the order events happened."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shared.engine.redaction import Redactor
from shared.engine.store import EventWrite, ExecutionStore, ExecutionWrite, StepWrite, WriteBatch

EventListener = Callable[[uuid.UUID, EventWrite], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Recorder:
    def __init__(
        self,
        store: ExecutionStore,
        execution_id: uuid.UUID,
        last_seq: int,
        listeners: Iterable[EventListener] = (),
        *,
        deferred_flush_s: float = 0.05,
        redactor: Redactor | None = None,
    ) -> None:
        self._store = store
        self._execution_id = execution_id
        self._seq = last_seq
        self._listeners = tuple(listeners)
        self._batch = WriteBatch()
        self._deferred_flush_s = deferred_flush_s
        self._timer: asyncio.TimerHandle | None = None
        self._written_at = time.monotonic()
        self.cancel_requested = False
        self.redactor = redactor or Redactor()
        """Masks credential values in whatever is written; a no-op until one is registered."""

    def event(self, type_: str, payload: dict[str, Any]) -> None:
        if self.redactor.active:
            payload = self.redactor(payload)
        self._seq += 1
        self._batch.events.append(EventWrite(seq=self._seq, type=type_, payload=payload, at=utcnow()))

    def step(self, write: StepWrite) -> None:
        if self.redactor.active:
            redact = self.redactor
            write = dataclasses.replace(
                write, input=redact(write.input), output=redact(write.output), error=redact(write.error)
            )
        self._batch.steps.append(write)

    def flush_soon(self) -> None:
        """Flush within `deferred_flush_s` unless a flush comes first: a fast step's start is
        then written together with its finish, one write instead of two."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._deferred_flush_s, self._deferred_flush)

    def written_recently(self) -> bool:
        """Whether the last write (which also reads the cancel flag) is under `deferred_flush_s` old."""
        return time.monotonic() - self._written_at < self._deferred_flush_s

    def _deferred_flush(self) -> None:
        self._timer = None
        if self._batch.steps or self._batch.events:
            self.flush()

    def flush(self, execution: ExecutionWrite | None = None) -> bool:
        """Write what is buffered; returns whether a cancel has been requested. On a failed
        write the batch stays buffered, so the next flush carries it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, WriteBatch()
        if execution is not None and self.redactor.active:
            execution = dataclasses.replace(
                execution, output=self.redactor(execution.output), error=self.redactor(execution.error)
            )
        batch.execution = execution
        try:
            cancel_requested = self._store.write(self._execution_id, batch)
            self._written_at = time.monotonic()
        except BaseException:
            batch.steps += self._batch.steps
            batch.events += self._batch.events
            batch.execution, self._batch = None, batch
            raise
        self.cancel_requested = cancel_requested or self.cancel_requested
        for event in batch.events:
            for listener in self._listeners:
                listener(self._execution_id, event)
        return self.cancel_requested
