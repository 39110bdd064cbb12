"""Where the CPU of a throughput run goes besides the product: the database's backends and the load
generator. On two shared cores every millisecond counts against the same budget (220/s is about
9 ms per execution for everything).

PostgreSQL runs on this machine, so its backends for the scratch database are found in
`pg_stat_activity` and their CPU read from /proc. A thread samples them while the deliveries run,
so backends that end before the run does (a pool's overflow connection) are counted up to their
last sample. `pg_stat_database.sessions` counts the connections opened meanwhile."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SAMPLE_S = 0.2


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, or None once it is gone (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCpu:
    """CPU seconds of the PostgreSQL backends serving `engine`'s database between `start` and `stop`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._sessions_before = 0
        self.sessions = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="database-cpu", daemon=True)

    def start(self) -> None:
        if not self.enabled:
            return
        self._sessions_before = self._session_count()
        self._sample(first=True)
        self._thread.start()

    def stop(self) -> float:
        """The backends' CPU seconds since `start` (0 when not on PostgreSQL)."""
        if not self.enabled:
            return 0.0
        self._stopping.set()
        self._thread.join()
        self._sample()
        self.sessions = self._session_count() - self._sessions_before
        return sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())

    def _sample_until_stopped(self) -> None:
        while not self._stopping.wait(SAMPLE_S):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        with self.engine.connect() as conn:
            pids = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            for pid in pids:
                cpu = process_cpu_seconds(pid)
                if cpu is None:
                    continue
                if first:
                    self._first[pid] = cpu
                self._last[pid] = cpu

    def _session_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()


def own_cpu_seconds() -> float:
    """This process's CPU time (all threads): the load generator and the bench's polling."""
    return time.process_time()
