"""Running one node: render its config, validate it, run it (per item for `for_each`) with
retries and a timeout, and record the step."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.engine.context import NodeContext, StepLogger
from shared.engine.errors import NodeError, TemplateError
from shared.engine.recorder import Recorder, utcnow
from shared.engine.retries import backoff_delay
from shared.engine.store import StepWrite

if TYPE_CHECKING:
    from shared.engine.definition import NodeSpec
    from shared.engine.runner import RunServices
    from shared.nodes.registry import NodeType


@dataclass
class StepResult:
    node_id: str
    status: str
    output: Any = None
    error: str | None = None
    branch: str | None = None
    credits: int = 0
    reused: bool = False


class StepExecution:
    def __init__(
        self, node: NodeSpec, node_type: NodeType, services: RunServices, recorder: Recorder, scope: dict[str, Any]
    ) -> None:
        self.node = node
        self.node_type = node_type
        self.services = services
        self.recorder = recorder
        self.scope = scope
        self.attempts = 0
        self.runs = 0
        self.extra_credits = 0
        """What nodes charged through `ctx.charge`, summed over items and attempts."""

    async def run(self) -> StepResult:
        started, clock = utcnow(), time.perf_counter()
        write = StepWrite(self.node.id, self.node_type.name, "running", attempt=1, started_at=started)
        self.recorder.step(write)
        self.recorder.event("step_started", {"node_id": self.node.id, "node_type": self.node_type.name})
        self.recorder.flush_soon()
        rendered: Any = None
        try:
            if self.node.for_each is not None:
                rendered, output = await self._run_for_each()
            else:
                rendered, output = await self._run_item(self.scope)
            output = json_safe(output)
            result = StepResult(self.node.id, "succeeded", output=output, branch=self._branch(output))
        except NodeError as exc:
            result = StepResult(self.node.id, "failed", error=exc.message)
        result.credits = self.node_type.cost * self.runs + self.extra_credits
        self._record_finish(write, result, rendered, started, clock)
        return result

    def _branch(self, output: Any) -> str | None:
        if not self.node_type.branches:
            return None
        branch = output.get("branch") if isinstance(output, dict) else None
        if branch not in self.node_type.branches:
            raise NodeError(f"node type {self.node_type.name} returned no valid branch")
        return branch

    def _record_finish(self, write: StepWrite, result: StepResult, rendered: Any, started, clock: float) -> None:
        duration_ms = round((time.perf_counter() - clock) * 1000, 3)
        write.status, write.attempt, write.input = result.status, max(self.attempts, 1), rendered
        write.output, write.error, write.credits, write.finished_at = (
            result.output,
            result.error,
            result.credits,
            utcnow(),
        )
        payload = {
            "node_id": self.node.id,
            "node_type": self.node_type.name,
            "attempts": write.attempt,
            "duration_ms": duration_ms,
            "credits": result.credits,
        }
        if result.error is not None:
            payload["error"] = result.error
        self.recorder.step(write)
        self.recorder.event("step_succeeded" if result.status == "succeeded" else "step_failed", payload)
        if result.status == "succeeded" and not self.node_type.side_effects and self.recorder.written_recently():
            # Lost in a crash, such a step is merely run again on resume; and the cancel flag, which
            # every write reads, was read moments ago: write it with whatever comes next.
            self.recorder.flush_soon()
        else:
            self.recorder.flush()

    async def _run_for_each(self) -> tuple[list[Any], list[Any]]:
        items = self._render(self.node.for_each, self.scope, "for_each")
        if isinstance(items, dict):
            items = [{"key": key, "value": value} for key, value in items.items()]
        if not isinstance(items, list):
            raise NodeError(f"for_each must yield a list, got {type(items).__name__}")
        limit = self.services.settings.for_each_max_items
        if len(items) > limit:
            raise NodeError(f"for_each yielded {len(items)} items, more than the limit of {limit}")
        semaphore = asyncio.Semaphore(self.services.settings.for_each_concurrency)

        async def run_item(index: int, item: Any) -> tuple[Any, Any]:
            async with semaphore:
                return await self._run_item({**self.scope, "item": item, "index": index})

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(run_item(i, item)) for i, item in enumerate(items)]
        except BaseExceptionGroup as failures:
            raise _first_node_error(failures) from None
        results = [task.result() for task in tasks]
        return [rendered for rendered, _ in results], [output for _, output in results]

    async def _run_item(self, scope: dict[str, Any]) -> tuple[Any, Any]:
        raw = {key: value for key, value in self.node.config.items() if key not in self.node_type.raw_fields}
        rendered = self._render(raw, scope, "config")
        rendered.update({key: self.node.config[key] for key in self.node_type.raw_fields if key in self.node.config})
        try:
            config = self.node_type.config_model.model_validate(rendered)
        except ValidationError as exc:
            raise NodeError(f"config after templating is invalid: {describe_validation(exc)}") from None
        return rendered, await self._attempt(config, scope)

    def _render(self, value: Any, scope: dict[str, Any], where: str) -> Any:
        try:
            return self.services.templates.render_value(value, scope)
        except TemplateError as exc:
            raise NodeError(f"{where}: {exc}") from None

    async def _attempt(self, config: Any, scope: dict[str, Any]) -> Any:
        policy, settings = self.node.retry, self.services.settings
        timeout = self.node.timeout_s or settings.default_node_timeout_s
        self.runs += 1
        for attempt in range(1, policy.max_attempts + 1):
            self.attempts = max(self.attempts, attempt)
            ctx = self._context(attempt, scope)
            try:
                async with asyncio.timeout(timeout):
                    return await self.node_type.run(ctx, config)
            except NodeError as exc:
                error = exc
            except TimeoutError:
                error = NodeError(f"timed out after {timeout:g} s", retryable=True)
            except Exception as exc:
                error = NodeError(f"{type(exc).__name__}: {exc}", retryable=True)
            finally:
                self.extra_credits += ctx.extra_credits
            if not error.retryable or attempt == policy.max_attempts:
                if attempt > 1:
                    error.message = f"{error.message} (after {attempt} attempts)"
                raise error
            delay = backoff_delay(policy, attempt, cap_s=settings.retry_backoff_cap_s)
            ctx.log.warning(f"attempt {attempt} failed: {error.message}; retrying in {delay:.2f} s", attempt=attempt)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _context(self, attempt: int, scope: dict[str, Any]) -> NodeContext:
        services = self.services
        return NodeContext(
            execution_id=services.execution_id,
            owner_id=services.owner_id,
            node_id=self.node.id,
            node_type=self.node_type.name,
            attempt=attempt,
            scope=scope,
            log=StepLogger(self.node.id, self.recorder.event),
            settings=services.settings,
            templates=services.templates,
            credentials=services.credentials,
            http_factory=services.http_client,
            browser=services.browser_session() if self.node_type.lane == "browser" else None,
            artifacts=services.artifacts,
        )


def _first_node_error(group: BaseExceptionGroup) -> BaseException:
    """The first failed item's error stands for the whole step."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_node_error(exc)
        return exc
    return group


def json_safe(value: Any) -> Any:
    """Step outputs are stored as JSON; anything else is converted the way `json.dumps(default=str)` would."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "config"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)
