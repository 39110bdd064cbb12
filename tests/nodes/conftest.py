"""Node fixtures: a real HTTP server that records what it receives, and contexts to run nodes in."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared.engine.context import NodeContext, StepLogger
from shared.engine.templating import TemplateEngine, TemplateLimits
from shared.nodes import default_registry
from shared.nodes.egress import make_http_client
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for the name `localhost` only."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def localhost_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    certificate = Certificate(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(certificate.key), "-out", str(certificate.cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate


@dataclass
class ContextFactory:
    """Builds `NodeContext`s the way the runner does; records log events; closes HTTP clients."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    contexts: list[NodeContext] = field(default_factory=list)

    def __call__(
        self,
        node_type: str = "test.node",
        *,
        settings: Settings | None = None,
        credentials: dict[str, dict[str, Any]] | None = None,
        scope: dict[str, Any] | None = None,
        node_id: str = "step",
    ) -> NodeContext:
        settings = settings or Settings(egress_allow_private=True)
        ctx = NodeContext(
            execution_id=uuid.uuid4(),
            owner_id=uuid.uuid4(),
            node_id=node_id,
            node_type=node_type,
            attempt=1,
            scope=scope if scope is not None else {"input": {}, "nodes": {}, "execution": {}},
            log=StepLogger(node_id, lambda kind, payload: self.events.append((kind, payload))),
            settings=settings,
            templates=TemplateEngine(TemplateLimits.from_settings(settings)),
            credentials=InMemoryCredentialProvider(credentials or {}),
            http_factory=lambda: make_http_client(settings),
        )
        self.contexts.append(ctx)
        return ctx

    def messages(self) -> list[str]:
        return [payload["message"] for kind, payload in self.events if kind == "log"]


@pytest.fixture
async def make_context() -> AsyncIterator[ContextFactory]:
    factory = ContextFactory()
    yield factory
    for ctx in factory.contexts:
        if ctx._http is not None:
            await ctx._http.aclose()


RunNode = Callable[..., Awaitable[Any]]


@pytest.fixture
def run_node(make_context: ContextFactory) -> RunNode:
    """Validate a (rendered) config with the node type's model and run it, as the runner does."""

    async def run(name: str, config: dict[str, Any], *, ctx: NodeContext | None = None, **options: Any) -> Any:
        node_type = default_registry().get(name)
        ctx = ctx or make_context(name, **options)
        return await node_type.run(ctx, node_type.config_model.model_validate(config))

    return run
