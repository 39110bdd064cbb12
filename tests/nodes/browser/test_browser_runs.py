"""Browser workflows through the real runner and store: one browser per execution, shared by its
steps, closed when the run ends however it ends; screenshots land in the artifact store."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from shared.artifacts import artifact_store
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import Artifact, Execution
from shared.engine.runner import WorkflowRunner
from shared.local.worker_pool import LocalWorkerPool
from shared.queue import QueueMessage
from shared.queue.inprocess import InProcessQueue
from shared.vault import InMemoryCredentialProvider
from shared.workers.execute import execute_message
from tests.nodes.browser.conftest import browser_settings, chromium_descendants, make_owner, page
from tests.support.http_server import Received, Reply


def who(received: Received) -> Reply:
    return page(f"<p id='who'>{received.headers.get('cookie', 'nobody')}</p>", "Who")


@pytest.fixture
def cookie_site(site):
    site.route("/login", login_reply())
    site.route("/elsewhere", page("<p>elsewhere</p>", "Elsewhere"))
    site.route("/whoami", who)
    return site


def login_reply() -> Reply:
    reply = page("<p>signed in</p>", "Login")
    reply.headers["Set-Cookie"] = "session=abc123; Path=/; HttpOnly"
    return reply


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    edges = [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": edges}


class Run:
    def __init__(self, engine, settings, definition: dict[str, Any]) -> None:
        self.engine, self.settings = engine, settings
        self.owner = make_owner(engine, definition)
        self.store = SqlExecutionStore(engine)
        self.events: list[Any] = []
        self.artifacts = artifact_store(settings, engine)
        assert self.store.claim(self.owner.execution_id, "test-worker")

    def runner(self) -> WorkflowRunner:
        return WorkflowRunner(
            self.store,
            settings=self.settings,
            credentials=InMemoryCredentialProvider(),
            artifacts=self.artifacts,
            listeners=[lambda _id, event: self.events.append(event)],
        )

    def logs(self) -> list[str]:
        return [event.payload["message"] for event in self.events if event.type == "log"]

    def artifact_rows(self) -> list[Artifact]:
        with Session(self.engine) as session:
            query = select(Artifact).where(Artifact.execution_id == self.owner.execution_id)
            return list(session.exec(query))


def wait_until_gone(before: set[int], timeout_s: float = 10.0) -> set[int]:
    """The Chromium processes started since `before` that are still alive after up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (left := chromium_descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


async def test_steps_share_one_browser_which_closes_when_the_run_ends(engine, cookie_site, tmp_path) -> None:
    definition = chain(
        node("login", "browser.goto", url=cookie_site.url("/login")),
        node("wander", "browser.goto", url=cookie_site.url("/elsewhere")),
        node("back", "browser.goto", url=cookie_site.url("/whoami")),
        node("who", "browser.extract", selector="#who"),
        node("shot", "browser.screenshot"),
    )
    run = Run(engine, browser_settings(tmp_path / "data"), definition)
    before = chromium_descendants()

    outcome = await run.runner().run(run.owner.execution_id)

    assert outcome.status == "succeeded", outcome.error
    assert outcome.steps["who"].output == {"value": "session=abc123"}
    assert run.logs().count("browser opened (local Chromium, playwright)") == 1
    assert wait_until_gone(before) == set()
    [artifact] = run.artifact_rows()
    assert outcome.output == {
        "shot": {
            "artifact_id": str(artifact.id),
            "url": f"/api/artifacts/{artifact.id}",
            "content_type": "image/png",
            "size": artifact.size,
            "page_url": cookie_site.url("/whoami"),
        }
    }
    assert (artifact.owner_id, artifact.node_id, artifact.kind) == (run.owner.user_id, "shot", "screenshot")
    with run.artifacts.open(artifact) as stored:
        assert stored.read(8) == b"\x89PNG\r\n\x1a\n"


async def test_a_failed_run_closes_the_browser_and_keeps_a_screenshot(migrated_engines, site, tmp_path) -> None:
    site.route("/plain", page("<p>nothing here</p>", "Plain"))
    definition = chain(
        node("open", "browser.goto", url=site.url("/plain")),
        node("press", "browser.click", selector="#absent", timeout_s=0.5),
    )
    run = Run(migrated_engines["sqlite"], browser_settings(tmp_path / "data"), definition)
    before = chromium_descendants()

    outcome = await run.runner().run(run.owner.execution_id)

    [artifact] = run.artifact_rows()
    assert outcome.status == "failed"
    assert outcome.error == (
        f"step 'press' failed: clicking '#absent': timed out after 0.5 s (on {site.url('/plain')}); "
        f"screenshot: artifact {artifact.id}"
    )
    assert (artifact.node_id, artifact.kind) == ("press", "failure-screenshot")
    assert "screenshot of the page when the step failed" in run.logs()
    assert wait_until_gone(before) == set()


async def test_a_cancelled_run_closes_the_browser(migrated_engines, site, tmp_path) -> None:
    site.route("/plain", page("<p>waiting</p>", "Plain"))
    definition = chain(
        node("open", "browser.goto", url=site.url("/plain")),
        node("wait", "browser.wait_for", selector="#never", timeout_s=30),
    )
    run = Run(migrated_engines["sqlite"], browser_settings(tmp_path / "data", browser_timeout_s=30), definition)
    before = chromium_descendants()
    task = asyncio.create_task(run.runner().run(run.owner.execution_id))
    deadline = time.monotonic() + 30
    while not any(e.type == "step_started" and e.payload["node_id"] == "wait" for e in run.events):
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.05)
    assert chromium_descendants() - before

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert wait_until_gone(before) == set()


def test_the_dev_worker_pool_runs_browser_steps_and_keeps_their_screenshots(migrated_engines, site, tmp_path) -> None:
    engine = migrated_engines["sqlite"]
    site.route("/pooled", page("<h1>Pooled</h1>", "Pooled"))
    definition = chain(node("open", "browser.goto", url=site.url("/pooled")), node("shot", "browser.screenshot"))
    settings = browser_settings(tmp_path / "data")
    owner = make_owner(engine, definition)
    queue = InProcessQueue()
    pool = LocalWorkerPool(engine, queue, settings, concurrency=1)
    pool.start()
    try:
        queue.dispatch([QueueMessage(owner.execution_id, lane="browser")])
        assert pool.drain(timeout=60)
    finally:
        pool.stop(timeout=5)

    with Session(engine) as session:
        done = session.get(Execution, owner.execution_id)
        artifact = session.get(Artifact, uuid.UUID(done.output["shot"]["artifact_id"]))
    assert done.status == "succeeded", done.error
    with artifact_store(settings, engine).open(artifact) as stored:
        assert stored.read(8) == b"\x89PNG\r\n\x1a\n"


async def test_the_fargate_worker_path_runs_browser_steps_and_keeps_their_screenshots(
    migrated_engines, site, tmp_path
) -> None:
    engine = migrated_engines["postgresql"]  # as in aws mode
    site.route("/task", page("<h1>Task</h1>", "Task"))
    definition = chain(node("open", "browser.goto", url=site.url("/task")), node("shot", "browser.screenshot"))
    settings = browser_settings(tmp_path / "data")
    owner = make_owner(engine, definition)
    before = chromium_descendants()

    result = await execute_message(
        engine, settings, QueueMessage(owner.execution_id, lane="browser"), worker_id="task-test", heartbeat_s=5
    )

    assert (result.status, result.error) == ("succeeded", None)
    with Session(engine) as session:
        [artifact] = session.exec(select(Artifact).where(Artifact.execution_id == owner.execution_id))
    assert (artifact.node_id, artifact.kind, artifact.content_type) == ("shot", "screenshot", "image/png")
    with artifact_store(settings, engine).open(artifact) as stored:
        assert stored.read(8) == b"\x89PNG\r\n\x1a\n"
    assert wait_until_gone(before) == set()


def test_the_light_lane_never_imports_the_driver() -> None:
    script = (
        "import sys; from shared.nodes import default_registry; import shared.engine.runner; "
        "registry = default_registry(); assert 'browser.goto' in registry; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('playwright', 'patchright')))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
