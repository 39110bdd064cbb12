"""The dev process's workers: `concurrency` background threads, each with its own event loop running
one execution at a time, taken from the in-process queue, both lanes alike (ARCHITECTURE.md, "Lanes").
A thread per execution rather than tasks on one loop: the engine's database calls block the loop
they run on, so executions sharing a loop would wait for each other's round trips.

Each message is claimed first (`queued` -> `running`), so a duplicate is dropped. One execution's
crash is logged and recorded on that execution; the pool carries on. On `stop`, executions still
running are interrupted and handed back to the outbox (`queued`, not dispatched, next attempt), so
the next start resumes them, re-using the steps that already succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from shared.artifacts import artifact_store
from shared.db.execution_store import SqlExecutionStore
from shared.engine.recorder import EventListener
from shared.engine.runner import WorkflowRunner
from shared.engine.store import EventWrite
from shared.queue.inprocess import InProcessQueue
from shared.queue.messages import QueueMessage
from shared.settings import Settings
from shared.vault.store import vault_from_settings
from shared.workers.handback import fail_if_running, hand_back

logger = logging.getLogger("flowbuilder.worker")

POLL_S = 0.2
"""How long one wait on the queue lasts: bounds how long `stop` waits for idle consumers."""
INTERRUPT_GRACE_S = 2.0
"""After `stop`'s timeout: how long interrupted runs get to finish their running steps."""


class LocalWorkerPool:
    def __init__(
        self,
        engine: Engine,
        queue: InProcessQueue,
        settings: Settings,
        *,
        concurrency: int = 8,
        listeners: Iterable[EventListener] = (),
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.concurrency = concurrency
        self.listeners = tuple(listeners)
        self.worker_id = f"local-{socket.gethostname()}-{os.getpid()}"
        self.store = SqlExecutionStore(engine)
        self.runner = WorkflowRunner(
            self.store,
            settings=settings,
            credentials=vault_from_settings(engine, settings),
            listeners=self.listeners,
            artifacts=artifact_store(settings, engine),
        )
        self._stopping = threading.Event()
        self._take_lock = threading.Lock()
        self._checking = threading.Event()
        self._idle = threading.Condition()
        self._in_hand = 0
        self._threads: list[threading.Thread] = []
        self._browser_slots = threading.BoundedSemaphore(settings.local_browser_concurrency)
        self._running: set[tuple[asyncio.AbstractEventLoop, asyncio.Task[None]]] = set()

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the pool has already been started")
        self._threads = [
            threading.Thread(target=self._thread_main, name=f"local-worker-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more messages; give running executions `timeout` seconds to finish, then
        interrupt them and hand them back."""
        if not self._threads:
            return
        self._stopping.set()
        if self._join(timeout):
            return
        logger.info("interrupting running executions")
        self.runner.drain()
        if self._join(INTERRUPT_GRACE_S):
            return
        with self._idle:
            running = list(self._running)
        for loop, task in running:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if not self._join(INTERRUPT_GRACE_S):
            logger.warning("the worker pool did not stop in time")

    def _join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds in all for every thread; True if all have ended."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty and no execution is running; False if `timeout` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = POLL_S if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._is_idle(min(POLL_S, remaining)):
                return True
            with self._idle:
                self._idle.wait(min(0.05, remaining))

    def _is_idle(self, wait: float) -> bool:
        # The taker takes a message and counts it in hand while holding `_take_lock`, so while we
        # hold it no message can be between the queue and the count.
        self._checking.set()
        try:
            if not self._take_lock.acquire(timeout=wait):
                return False
        finally:
            self._checking.clear()
        try:
            with self._idle:
                return self.queue.qsize() == 0 and self._in_hand == 0
        finally:
            self._take_lock.release()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            logger.exception("the worker pool stopped on an error")

    async def _main(self) -> None:
        """Take a message, run it to the end, take the next. Waiting for a message blocks this
        thread's loop, which has nothing else to do meanwhile."""
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            message = self._take()
            if message is None:
                continue
            running = (loop, asyncio.create_task(self._run_message(message)))
            with self._idle:
                self._running.add(running)
            try:
                await asyncio.wait({running[1]})
            finally:
                with self._idle:
                    self._running.discard(running)

    def _take(self) -> QueueMessage | None:
        if self._checking.is_set() or not self._take_lock.acquire(timeout=POLL_S):
            time.sleep(0.001)  # let `drain` have the lock
            return None
        try:
            message = None if self._stopping.is_set() else self.queue.get(timeout=POLL_S)
            if message is not None:
                with self._idle:
                    self._in_hand += 1
            return message
        finally:
            self._take_lock.release()

    async def _run_message(self, message: QueueMessage) -> None:
        try:
            await self.handle(message)
        finally:
            with self._idle:
                self._in_hand -= 1
                self._idle.notify_all()

    async def handle(self, message: QueueMessage) -> None:
        """Claim and run one execution; whatever goes wrong stays with that execution. Browser-lane
        executions also wait for one of `local_browser_concurrency` slots first (each starts a
        Chromium); a message left unclaimed when the pool stops is sent again by the scheduler."""
        if message.lane != "browser":
            await self._claim_and_run(message)
            return
        while not self._browser_slots.acquire(timeout=POLL_S):  # this thread's loop runs nothing else
            if self._stopping.is_set():
                return
        try:
            await self._claim_and_run(message)
        finally:
            self._browser_slots.release()

    async def _claim_and_run(self, message: QueueMessage) -> None:
        execution_id = message.execution_id
        try:
            claimed = self.store.claim_and_load(execution_id, self.worker_id)  # this thread's loop runs nothing else
        except Exception:
            logger.exception("execution %s: could not claim it; the message is dropped", execution_id)
            return
        if claimed is None:
            logger.info("execution %s: not queued (a duplicate or stale message); dropped", execution_id)
            return
        try:
            outcome = await self.runner.run(execution_id, claimed)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(hand_back, self.engine, execution_id))
            raise
        except Exception as exc:
            logger.exception("execution %s: the run crashed", execution_id)
            error = f"the worker failed while running this execution: {type(exc).__name__}: {exc}"
            event = await asyncio.to_thread(fail_if_running, self.engine, execution_id, error)
            if event is not None:
                self._tell_listeners(execution_id, event)
                await self._alert(execution_id)
            return
        if outcome.status == "interrupted":
            await asyncio.to_thread(hand_back, self.engine, execution_id)
        elif outcome.status == "failed":
            await self._alert(execution_id)

    async def _alert(self, execution_id: uuid.UUID) -> None:
        """The workflow's failure alert (`shared.alerts`); it logs its own failures and never raises."""
        from shared.alerts import alert_if_failed

        await alert_if_failed(self.engine, self.runner.settings, execution_id, self.runner.credentials)

    def _tell_listeners(self, execution_id: uuid.UUID, event: EventWrite) -> None:
        for listener in self.listeners:
            try:
                listener(execution_id, event)
            except Exception:
                logger.exception("execution %s: an event listener failed", execution_id)
