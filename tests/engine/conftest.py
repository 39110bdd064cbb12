"""Runner fixtures: a registry of small test node types and helpers to queue and run executions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.db.crud import create_workflow, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import User
from shared.engine.errors import NodeError
from shared.engine.runner import RunOutcome, WorkflowRunner
from shared.nodes import build_registry
from shared.nodes.registry import NodeRegistry, NodeType
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider


@dataclass
class Tracker:
    """What the test nodes saw: call order, calls per node, and how many ran at once."""

    calls: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    failures_left: dict[str, int] = field(default_factory=dict)

    def count(self, node_id: str) -> int:
        return self.calls.count(node_id)


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="allow")


class SleepConfig(BaseModel):
    seconds: float = 0.05
    value: Any = None


class FlakyConfig(BaseModel):
    failures: int = 0
    retryable: bool = True


class BranchConfig(BaseModel):
    branch: str


def make_test_nodes(tracker: Tracker) -> list[NodeType]:
    async def echo(ctx, config: EchoConfig) -> Any:
        """Returns its config."""
        tracker.calls.append(ctx.node_id)
        return config.model_dump()

    async def sleep(ctx, config: SleepConfig) -> Any:
        """Sleeps, counting how many sleepers overlap."""
        tracker.calls.append(ctx.node_id)
        tracker.in_flight += 1
        tracker.max_in_flight = max(tracker.max_in_flight, tracker.in_flight)
        try:
            await asyncio.sleep(config.seconds)
        finally:
            tracker.in_flight -= 1
        return {"value": config.value}

    async def flaky(ctx, config: FlakyConfig) -> Any:
        """Fails `failures` times, then succeeds."""
        tracker.calls.append(ctx.node_id)
        left = tracker.failures_left.setdefault(ctx.node_id, config.failures)
        if left > 0:
            tracker.failures_left[ctx.node_id] = left - 1
            raise NodeError(f"planned failure {config.failures - left + 1}", retryable=config.retryable)
        ctx.log.info("recovered", attempt=ctx.attempt)
        return {"attempt": ctx.attempt}

    async def branch(ctx, config: BranchConfig) -> Any:
        """Takes the branch it is told to."""
        tracker.calls.append(ctx.node_id)
        return {"branch": config.branch}

    return [
        NodeType("test.echo", EchoConfig, echo, cost=1),
        NodeType("test.sleep", SleepConfig, sleep, cost=2),
        NodeType("test.flaky", FlakyConfig, flaky, cost=1),
        NodeType("test.branch", BranchConfig, branch, cost=0, branches=("true", "false")),
    ]


@pytest.fixture
def tracker() -> Tracker:
    return Tracker()


@pytest.fixture
def registry(tracker: Tracker) -> NodeRegistry:
    registry = build_registry()
    for node_type in make_test_nodes(tracker):
        registry.add(node_type)
    return registry


@dataclass
class Harness:
    engine: Engine
    registry: NodeRegistry
    settings: Settings
    store: SqlExecutionStore
    credentials: InMemoryCredentialProvider

    def queue(self, definition: dict[str, Any], input: dict[str, Any] | None = None) -> uuid.UUID:
        with Session(self.engine) as session:
            owner = User(kind="user", credits=1000)
            session.add(owner)
            session.flush()
            workflow, _ = create_workflow(session, owner.id, "test", definition)
            execution = queue_execution(session, workflow, trigger="manual", input=input)
            session.commit()
            return execution.id

    def runner(self, listeners: list[Callable] | None = None, **overrides: Any) -> WorkflowRunner:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        return WorkflowRunner(
            self.store,
            settings=settings,
            credentials=self.credentials,
            registry=self.registry,
            listeners=listeners or [],
        )

    async def run(self, definition: dict[str, Any], input: dict[str, Any] | None = None, **kw: Any) -> RunOutcome:
        execution_id = self.queue(definition, input)
        assert self.store.claim(execution_id, "test-worker")
        return await self.runner(**kw).run(execution_id)


@pytest.fixture
def harness(engine: Engine, registry: NodeRegistry, settings: Settings) -> Harness:
    return Harness(engine, registry, settings, SqlExecutionStore(engine), InMemoryCredentialProvider())
