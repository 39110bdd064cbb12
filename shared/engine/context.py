"""What a node sees while it runs: its resolved inputs, credentials, a logger, HTTP, settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shared.engine.errors import CredentialNotFound, NodeError

if TYPE_CHECKING:
    import httpx

    from shared.artifacts import ArtifactStore
    from shared.browser.session import BrowserSession
    from shared.engine.templating import TemplateEngine
    from shared.settings import Settings


class CredentialProvider(Protocol):
    async def get(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        """The credential's values; raises `CredentialNotFound` when the owner has none of that name."""
        ...


class StepLogger:
    """Writes `log` events for one step; they are persisted with the step."""

    def __init__(self, node_id: str, sink: Callable[[str, dict[str, Any]], None]) -> None:
        self._node_id = node_id
        self._sink = sink

    def log(self, level: str, message: str, **data: Any) -> None:
        self._sink("log", {"node_id": self._node_id, "level": level, "message": message, **data})

    def info(self, message: str, **data: Any) -> None:
        self.log("info", message, **data)

    def warning(self, message: str, **data: Any) -> None:
        self.log("warning", message, **data)

    def error(self, message: str, **data: Any) -> None:
        self.log("error", message, **data)


@dataclass
class NodeContext:
    execution_id: uuid.UUID
    owner_id: uuid.UUID
    node_id: str
    node_type: str
    attempt: int
    scope: Mapping[str, Any]
    """Template scope: `input`, `nodes.<id>.output`, `execution`, and `item`/`index` in a for_each."""
    log: StepLogger
    settings: Settings
    templates: TemplateEngine
    credentials: CredentialProvider
    http_factory: Callable[[], httpx.AsyncClient]
    browser: BrowserSession | None = None
    """Browser-lane steps only: the execution's browser, opened by the first step that asks for a page."""
    artifacts: ArtifactStore | None = None
    """Where the step stores files (screenshots); None when the run has no store."""
    _http: httpx.AsyncClient | None = field(default=None, repr=False)
    extra_credits: int = 0
    """Credits charged by the node itself (`charge`), on top of its type's cost."""

    @property
    def idempotency_key(self) -> str:
        """Stable for (execution, node): the same on every attempt and resume."""
        return f"fb-{self.execution_id}-{self.node_id}"

    @property
    def input(self) -> Mapping[str, Any]:
        return self.scope["input"]

    @property
    def http(self) -> httpx.AsyncClient:
        """An HTTP client whose every connection passes the egress guard; shared per execution."""
        if self._http is None:
            self._http = self.http_factory()
        return self._http

    def charge(self, credits: int) -> None:
        """Charge usage-priced work (e.g. LLM tokens) to this step, on top of the node type's cost;
        added to the step's credits even when the attempt then fails."""
        if credits < 0:
            raise ValueError("credits charged must not be negative")
        self.extra_credits += credits

    async def credential(self, name: str) -> dict[str, Any]:
        try:
            return await self.credentials.get(self.owner_id, name)
        except CredentialNotFound as exc:
            raise NodeError(str(exc)) from None

    def evaluate(self, expression: str) -> Any:
        return self.templates.evaluate(expression, self.scope)

    def render(self, value: Any) -> Any:
        return self.templates.render_value(value, self.scope)
