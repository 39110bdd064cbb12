"""Runs one claimed execution to its end: nodes in dependency order, independent branches
concurrently, skips by the join rule, every step persisted as it finishes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.engine.planner import Plan, StepOutcome, build_plan
from shared.engine.recorder import EventListener, Recorder, utcnow
from shared.engine.redaction import Redactor, RegisteringCredentials
from shared.engine.step import StepExecution, StepResult
from shared.engine.store import ClaimedExecution, ExecutionRecord, ExecutionStore, ExecutionWrite, StepWrite
from shared.engine.templating import TemplateEngine, TemplateLimits
from shared.engine.validation import DefinitionInvalid, parse_definition

if TYPE_CHECKING:
    import httpx

    from shared.artifacts import ArtifactStore
    from shared.browser.session import BrowserSession
    from shared.engine.context import CredentialProvider
    from shared.nodes.registry import NodeRegistry
    from shared.settings import Settings


@dataclass
class RunServices:
    """What the steps of one execution share."""

    execution_id: uuid.UUID
    owner_id: uuid.UUID
    settings: Settings
    templates: TemplateEngine
    credentials: CredentialProvider
    http_factory: Callable[[], httpx.AsyncClient]
    artifacts: ArtifactStore | None = None
    _http: httpx.AsyncClient | None = None
    _browser: BrowserSession | None = None

    def http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.http_factory()
        return self._http

    def browser_session(self) -> BrowserSession:
        """The execution's browser session; nothing is imported or launched until a browser step asks."""
        if self._browser is None:
            from shared.browser.session import BrowserSession

            self._browser = BrowserSession(self.settings)
        return self._browser

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._http is not None:
            await self._http.aclose()


@dataclass
class RunOutcome:
    execution_id: uuid.UUID
    status: str
    output: Any = None
    error: str | None = None
    credits_used: int = 0
    steps: dict[str, StepResult] = field(default_factory=dict)


class WorkflowRunner:
    def __init__(
        self,
        store: ExecutionStore,
        *,
        settings: Settings,
        credentials: CredentialProvider,
        registry: NodeRegistry | None = None,
        http_factory: Callable[[], httpx.AsyncClient] | None = None,
        listeners: Iterable[EventListener] = (),
        artifacts: ArtifactStore | None = None,
    ) -> None:
        from shared.nodes import default_registry

        self.store = store
        self.settings = settings
        self.credentials = credentials
        self.registry = registry or default_registry()
        self.templates = TemplateEngine(TemplateLimits.from_settings(settings))
        self.http_factory = http_factory or self._guarded_client
        self.listeners = tuple(listeners)
        self.artifacts = artifacts
        self._draining = False

    def _guarded_client(self) -> httpx.AsyncClient:
        from shared.nodes.egress import make_http_client

        return make_http_client(self.settings)

    def drain(self) -> None:
        """Stop starting steps (e.g. on SIGTERM); `run` returns `interrupted` once running steps end."""
        self._draining = True

    async def run(self, execution_id: uuid.UUID, claimed: ClaimedExecution | None = None) -> RunOutcome:
        """Run a claimed execution; `claimed` is what `ExecutionStore.claim_and_load` read (else it is read here)."""
        if claimed is None:
            store = self.store
            claimed = ClaimedExecution(
                store.load(execution_id), store.last_seq(execution_id), store.step_records(execution_id)
            )
        record, prior = claimed.record, claimed.steps
        redactor = Redactor()
        recorder = Recorder(
            self.store,
            execution_id,
            claimed.last_seq,
            self.listeners,
            deferred_flush_s=self.settings.deferred_flush_ms / 1000,
            redactor=redactor,
        )
        recorder.event("run_started", {"attempt": record.attempt, "trigger": record.trigger, "resumed": bool(prior)})
        clock = time.perf_counter()
        try:
            plan = build_plan(parse_definition(record.definition, self.registry, self.templates), self.registry)
        except DefinitionInvalid as exc:
            error = "the workflow definition is invalid: " + "; ".join(str(issue) for issue in exc.issues)
            return self._finish(recorder, RunOutcome(execution_id, "failed", error=error), clock)
        credentials = RegisteringCredentials(self.credentials, redactor)  # every value handed out is masked
        services = RunServices(
            execution_id, record.owner_id, self.settings, self.templates, credentials, self.http_factory, self.artifacts
        )
        try:
            outcome = await self._run_plan(plan, record, prior, services, recorder)
        finally:
            await services.close()
        if outcome.status == "interrupted":
            recorder.flush()
            return outcome
        return self._finish(recorder, outcome, clock)

    def _finish(self, recorder: Recorder, outcome: RunOutcome, clock: float) -> RunOutcome:
        recorder.redactor.redact_outcome(outcome)  # what the caller prints is as clean as what is stored
        recorder.event(
            "run_finished",
            {
                "status": outcome.status,
                "error": outcome.error,
                "credits_used": outcome.credits_used,
                "duration_ms": round((time.perf_counter() - clock) * 1000, 3),
            },
        )
        recorder.flush(
            ExecutionWrite(
                status=outcome.status,
                output=outcome.output,
                error=outcome.error,
                credits_used=outcome.credits_used,
                finished_at=utcnow(),
            )
        )
        return outcome

    async def _run_plan(
        self, plan: Plan, record: ExecutionRecord, prior: dict, services: RunServices, recorder: Recorder
    ) -> RunOutcome:
        scope: dict[str, Any] = {
            "input": record.input,
            "nodes": {},
            "execution": {
                "id": str(record.id),
                "workflow_id": str(record.workflow_id),
                "attempt": record.attempt,
                "trigger": record.trigger,
            },
        }
        graph = _GraphRun(plan, prior, services, recorder, scope, self)
        limit = plan.definition.timeout_s or self.settings.default_execution_timeout_s
        try:
            async with asyncio.timeout(limit):
                await graph.run()
        except TimeoutError:
            graph.abort(f"the execution timed out after {limit:g} s")
        return graph.outcome(record.id)


class _GraphRun:
    """The state of one pass over the graph."""

    def __init__(self, plan, prior, services, recorder, scope, runner: WorkflowRunner) -> None:
        self.plan, self.prior, self.services, self.recorder = plan, prior, services, recorder
        self.scope, self.runner = scope, runner
        self.results: dict[str, StepResult] = {}
        self.outcomes: dict[str, StepOutcome] = {}
        self.running: dict[asyncio.Task[StepResult], str] = {}
        self.stop_reason: str | None = None
        self.limit = plan.definition.max_concurrency or runner.settings.max_concurrency

    async def run(self) -> None:
        try:
            await self._schedule()
        except BaseException:
            await self._cancel_running()
            raise

    async def _cancel_running(self) -> None:
        """Steps never outlive the run: a cancelled or timed-out run stops its steps first."""
        for task in self.running:
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)

    async def _schedule(self) -> None:
        sorter = self.plan.sorter()
        ready: deque[str] = deque()
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            while ready and self.stop_reason is None and len(self.running) < self.limit:
                node_id = ready.popleft()
                if self._settle_without_running(node_id):
                    sorter.done(node_id)
                elif not self._should_stop():
                    self.running[asyncio.create_task(self._step(node_id).run())] = node_id
            if not self.running:
                if self.stop_reason is not None:
                    return
                continue  # skipped or re-used nodes have released their successors
            done, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                node_id = self.running.pop(task)
                self._settle(node_id, task.result())
                sorter.done(node_id)

    def _should_stop(self) -> bool:
        if self.runner._draining:
            self.stop_reason = "interrupted"
        elif self.recorder.cancel_requested:
            self.stop_reason = "cancelled"
        return self.stop_reason is not None

    def _step(self, node_id: str) -> StepExecution:
        node = self.plan.nodes[node_id]
        return StepExecution(node, self.plan.node_types[node_id], self.services, self.recorder, self.scope)

    def _settle_without_running(self, node_id: str) -> bool:
        """Re-use a step that succeeded on an earlier attempt, or skip/block it by the join rule."""
        previous = self.prior.get(node_id)
        node_type = self.plan.node_types[node_id]
        if previous is not None and previous.status == "succeeded":
            branch = previous.output.get("branch") if node_type.branches and isinstance(previous.output, dict) else None
            reused = StepResult(
                node_id, "succeeded", previous.output, branch=branch, credits=previous.credits, reused=True
            )
            self._settle(node_id, reused)
            return True
        decision = self.plan.decide(node_id, self.outcomes)
        if decision == "run":
            return False
        reason = "no incoming edge was taken" if decision == "skip" else "an upstream step failed"
        now = utcnow()
        self.recorder.step(StepWrite(node_id, node_type.name, "skipped", 0, started_at=now, finished_at=now))
        self.recorder.event("step_skipped", {"node_id": node_id, "node_type": node_type.name, "reason": reason})
        self._settle(node_id, StepResult(node_id, "skipped"))
        return True

    def _settle(self, node_id: str, result: StepResult) -> None:
        self.results[node_id] = result
        self.outcomes[node_id] = StepOutcome(result.status, result.branch)
        if result.status == "succeeded":
            self.scope["nodes"][node_id] = {"output": result.output}
        elif result.status == "failed" and self.stop_reason is None:
            self.stop_reason = f"step '{node_id}' failed: {result.error}"

    def abort(self, reason: str) -> None:
        """Record the steps the execution timeout stopped as failed."""
        now = utcnow()
        for node_id in self.running.values():
            self.recorder.step(
                StepWrite(node_id, self.plan.node_types[node_id].name, "failed", 1, error=reason, finished_at=now)
            )
            self.recorder.event("step_failed", {"node_id": node_id, "error": reason})
            self.results[node_id] = StepResult(node_id, "failed", error=reason)
        self.running.clear()
        self.stop_reason = reason

    def outcome(self, execution_id: uuid.UUID) -> RunOutcome:
        credits = sum(result.credits for result in self.results.values())
        if self.stop_reason in ("cancelled", "interrupted"):
            error = "cancelled on request" if self.stop_reason == "cancelled" else None
            return RunOutcome(execution_id, self.stop_reason, None, error, credits, self.results)
        if self.stop_reason is not None:
            return RunOutcome(execution_id, "failed", None, self.stop_reason, credits, self.results)
        output = {
            node_id: self.results[node_id].output
            for node_id in self.plan.sinks
            if node_id in self.results and self.results[node_id].status == "succeeded"
        }
        return RunOutcome(execution_id, "succeeded", output, None, credits, self.results)
