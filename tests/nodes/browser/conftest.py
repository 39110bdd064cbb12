"""Browser fixtures: a site on 127.0.0.1, a server the egress guard refuses (127.0.0.2), one real
headless Chromium per test module, an artifact store on SQLite, and contexts to run steps in."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.artifacts import LocalArtifactStore
from shared.browser.launch import installed_chromium
from shared.browser.session import BrowserSession
from shared.db.crud import create_workflow, queue_execution
from shared.db.models import User
from shared.engine.context import NodeContext, StepLogger
from shared.engine.templating import TemplateEngine, TemplateLimits
from shared.nodes import default_registry
from shared.nodes.egress import make_http_client
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider
from tests.support.http_server import RecordingServer, Reply

CHROMIUM = installed_chromium()
"""What the product launches by default: Debian's chromium-headless-shell, else its chromium."""

if CHROMIUM is None:
    pytest.skip("the browser tests need Debian's chromium-headless-shell or chromium", allow_module_level=True)


def page(body: str, title: str = "Test page", head: str = "") -> Reply:
    html = f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
    return Reply(body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def browser_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Only 127.0.0.1 is reachable: the site is allowed, 127.0.0.2 (loopback too) is refused."""
    values: dict[str, Any] = {
        "egress_allow_networks": ["127.0.0.1/32"],
        "browser_executable_path": CHROMIUM,
        "browser_timeout_s": 10,
    }
    return Settings(data_dir=data_dir, **{**values, **overrides})


@pytest.fixture(scope="module")
def site() -> Iterator[RecordingServer]:
    server = RecordingServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def denied() -> Iterator[RecordingServer]:
    """A server the egress guard must keep every request away from."""
    server = RecordingServer("127.0.0.2").start()
    server.route("/", page("<p>internal</p>", "Internal"))
    server.route("/pixel.png", Reply(body=b"\x89PNG", headers={"Content-Type": "image/png"}))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return browser_settings(tmp_path_factory.mktemp("browser-data"))


@dataclass
class Owner:
    user_id: uuid.UUID
    execution_id: uuid.UUID


def make_owner(engine: Engine, definition: dict[str, Any] | None = None) -> Owner:
    """A user with a queued execution: artifacts must belong to real rows."""
    with Session(engine) as session:
        user = User(kind="user", credits=1000)
        session.add(user)
        session.flush()
        workflow, _ = create_workflow(session, user.id, "browser", definition or {"nodes": [], "edges": []})
        execution = queue_execution(session, workflow, trigger="manual", lane="browser")
        session.commit()
        return Owner(user.id, execution.id)


@pytest.fixture(scope="module")
def sqlite_engine(migrated_engines: dict[str, Engine]) -> Engine:
    return migrated_engines["sqlite"]


@pytest.fixture(scope="module")
def owner(sqlite_engine: Engine) -> Owner:
    return make_owner(sqlite_engine)


@pytest.fixture(scope="module")
def artifacts(sqlite_engine: Engine, module_settings: Settings) -> LocalArtifactStore:
    return LocalArtifactStore(module_settings.data_dir / "artifacts", sqlite_engine)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(module_settings: Settings) -> AsyncIterator[BrowserSession]:
    """One Chromium for the whole module; it opens on the first step that asks for the page."""
    session = BrowserSession(module_settings)
    yield session
    await session.close()


@dataclass
class Steps:
    """Runs browser steps the way the runner does, all in one execution's browser."""

    settings: Settings
    browser: BrowserSession
    artifacts: LocalArtifactStore | None
    owner: Owner
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def context(self, node_type: str, node_id: str = "step") -> NodeContext:
        return NodeContext(
            execution_id=self.owner.execution_id,
            owner_id=self.owner.user_id,
            node_id=node_id,
            node_type=node_type,
            attempt=1,
            scope={"input": {}, "nodes": {}, "execution": {}},
            log=StepLogger(node_id, lambda kind, payload: self.events.append((kind, payload))),
            settings=self.settings,
            templates=TemplateEngine(TemplateLimits.from_settings(self.settings)),
            credentials=InMemoryCredentialProvider(self.credentials),
            http_factory=lambda: make_http_client(self.settings),
            browser=self.browser,
            artifacts=self.artifacts,
        )

    async def run(self, name: str, config: dict[str, Any], node_id: str = "step") -> Any:
        node_type = default_registry().get(name)
        return await node_type.run(self.context(name, node_id), node_type.config_model.model_validate(config))

    def logs(self, level: str | None = None) -> list[dict[str, Any]]:
        return [p for kind, p in self.events if kind == "log" and (level is None or p["level"] == level)]


@pytest.fixture
def steps(module_settings, browser, artifacts, owner) -> Steps:
    return Steps(module_settings, browser, artifacts, owner)


def chromium_descendants() -> set[int]:
    """Chromium processes started (through the driver) by this test process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                names[int(entry)] = cmdline.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])

    def descends(pid: int) -> bool:
        seen = set()
        while pid in parents and pid not in seen:
            seen.add(pid)
            pid = parents[pid]
            if pid == os.getpid():
                return True
        return False

    return {pid for pid in parents if "chrom" in names.get(pid, "") and descends(pid)}
