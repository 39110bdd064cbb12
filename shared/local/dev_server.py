"""`flowbuilder dev`: the whole product in one process (local mode) — the API under uvicorn, the
schedule tick in a loop thread, and a worker pool on the in-process queue.

SIGINT/SIGTERM: uvicorn stops serving, then the loop and the pool stop (running executions get a
few seconds, then are handed back for the next start) and the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.queue import Dispatcher
    from shared.scheduler.gate import NextWakeGate
    from shared.scheduler.guest_cleanup import GuestCleanup
    from shared.scheduler.reaper import ReaperLimits
    from shared.settings import Settings

logger = logging.getLogger("flowbuilder.dev")

DEV_KEY_FILE = "dev-api-key"
POOL_STOP_TIMEOUT_S = 3.0
"""On shutdown, how long running executions get to finish before they are handed back."""
GRACEFUL_SHUTDOWN_S = 3
"""How long uvicorn waits for open requests (live event streams stay open) before closing them."""


def dev(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="SQLite file, dev API key, schedule gate (default: $FLOWBUILDER_DATA_DIR)"),
    ] = None,
) -> None:
    """Run Flow Builder locally: the API, the scheduler and workers in one process."""
    from shared.settings import Settings, get_settings

    settings = Settings(data_dir=data_dir) if data_dir else get_settings()
    if settings.mode != "local":
        typer.echo("error: `flowbuilder dev` runs local mode; unset FLOWBUILDER_MODE", err=True)
        raise typer.Exit(2)
    serve(settings, host=host, port=port)


def serve(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.services import AppServices, EventNotifier
    from shared.local.worker_pool import LocalWorkerPool
    from shared.queue.inprocess import InProcessQueue
    from shared.scheduler.gate import gate_for
    from shared.scheduler.guest_cleanup import GuestCleanup
    from shared.scheduler.reaper import ReaperLimits

    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    engine = prepare_database(settings)
    key = ensure_dev_api_key(engine, settings.data_dir)
    queue, notifier = InProcessQueue(), EventNotifier()
    services = AppServices(settings, dispatcher=queue, notifier=notifier, _engine=engine)
    config = uvicorn.Config(
        create_app(settings, services), host=host, port=port, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S
    )
    pool = LocalWorkerPool(
        engine, queue, settings, listeners=[lambda execution_id, _: notifier.notify(str(execution_id))]
    )
    gate = gate_for(settings)
    gate.set(None)  # whatever the last process left, the first tick looks
    schedule = ScheduleLoop(
        engine, queue, gate, settings.local_tick_s, ReaperLimits.from_settings(settings), GuestCleanup(settings)
    )
    print_banner(settings, host, port, key)
    pool.start()
    schedule.start()
    try:
        run_until_signalled(uvicorn.Server(config))
    finally:
        schedule.stop()
        pool.stop(POOL_STOP_TIMEOUT_S)
        engine.dispose()


def prepare_database(settings: Settings) -> Engine:
    """Migrate (SQLite in the data dir unless FLOWBUILDER_DATABASE_URL), and put back in the outbox
    what the last process had sent to its in-memory queue but not run."""
    import sqlalchemy as sa

    from shared.db.migrate import upgrade
    from shared.db.models import Execution
    from shared.db.session import create_db_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url, echo=settings.database_echo)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.update(Execution)
            .where(Execution.status == "queued", Execution.dispatched_at.is_not(None))
            .values(dispatched_at=None)
        )
    return engine


def ensure_dev_api_key(engine: Engine, data_dir: Path) -> str:
    """The local user's dev key: the one in `<data_dir>/dev-api-key` while the database still knows
    it, else a new one written there (0600). Only its hash is in the database: the file is the copy."""
    from sqlmodel import Session, select

    from shared.db.crud import ensure_local_user
    from shared.db.models import ApiKey
    from shared.identity.api_keys import hash_key, issue_api_key

    path = data_dir / DEV_KEY_FILE
    with Session(engine, expire_on_commit=False) as session:
        owner = ensure_local_user(session)
        key = _read_key(path)
        if key is not None:
            live = select(ApiKey.id).where(
                ApiKey.key_hash == hash_key(key), ApiKey.owner_id == owner.id, ApiKey.revoked_at.is_(None)
            )
            if session.exec(live).first() is not None:
                session.commit()
                return key
        issued = issue_api_key(session, owner.id, "dev", "full")
        _write_private(path, issued.key)  # before the commit: a key is never stored without its copy
        session.commit()
        return issued.key


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    os.chmod(path, 0o600)
    return key or None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text + "\n")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def print_banner(settings: Settings, host: str, port: int, key: str) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host  # noqa: S104
    base = f"http://{shown}:{port}"
    lines = [
        f"Flow Builder dev server (local mode, data in {settings.data_dir.resolve()})",
        f"  API:      {base}/api",
        f"  API docs: {base}/api/docs",
        f"  API key:  {key}",
        f"            send it as 'Authorization: Bearer <key>'; kept in {settings.data_dir / DEV_KEY_FILE}",
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)


def run_until_signalled(server) -> None:
    """Run uvicorn until SIGINT/SIGTERM. uvicorn re-raises the signal it caught once it has shut
    down; our own handlers receive it, so the caller's cleanup runs and the exit is clean."""
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: received.append(number)) for sig in _SIGNALS}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        logger.info("stopping on %s", signal.Signals(received[0]).name)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ScheduleLoop:
    """The scheduler Lambda's tick and reaper (`run_cloud_tick`) every `interval_s` seconds in a thread;
    a failing tick is logged, the loop goes on."""

    def __init__(
        self,
        engine: Engine,
        dispatcher: Dispatcher,
        gate: NextWakeGate,
        interval_s: float,
        limits: ReaperLimits | None = None,
        guest_cleanup: GuestCleanup | None = None,
    ) -> None:
        self.engine, self.dispatcher, self.gate, self.interval_s = engine, dispatcher, gate, interval_s
        self.limits = limits
        self.guest_cleanup = guest_cleanup
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        from shared.scheduler.cloud_tick import run_cloud_tick
        from shared.scheduler.reaper import ReaperLimits

        limits = self.limits or ReaperLimits()
        while not self._stopping.is_set():
            try:
                report = run_cloud_tick(
                    self.engine,
                    self.dispatcher,
                    self.gate,
                    limits,
                    guest_cleanup=self.guest_cleanup,
                    alert_settings=self.guest_cleanup.settings if self.guest_cleanup else None,
                ).tick
            except Exception:
                logger.exception("schedule tick failed; trying again in %.0f s", self.interval_s)
            else:
                if report.created or report.dispatched or report.failed_dispatches:
                    logger.info(
                        "tick: %d execution(s) queued, %d sent, %d not sent",
                        report.created,
                        report.dispatched,
                        report.failed_dispatches,
                    )
            self._stopping.wait(self.interval_s)
