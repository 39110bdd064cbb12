"""The "next wake" gate: one instant, kept where reading it costs nothing while idle, before which
the schedule tick has no reason to touch the database (ARCHITECTURE.md, "Waking the scheduler").

`None` means "not known": the tick must look (a fresh install, an unreadable value). Whatever
creates due work calls `lower` after its commit. The tick brackets its work with `hold` and
`release`, so a `lower` that lands while it works is never overwritten (see `shared.scheduler.tick`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shared.settings import Settings

GATE_FILE = "next-wake"


class NextWakeGate(Protocol):
    def read(self) -> datetime | None:
        """The stored instant (aware UTC), or None when unknown: then the tick must look."""
        ...

    def lower(self, to: datetime) -> None:
        """Move the instant to `to` if that is earlier; atomic, so concurrent writers never raise it.
        Also remembered for `release` when a tick holds the gate."""
        ...

    def set(self, to: datetime | None) -> None:
        """Store `to` whatever the instant is now (None: unknown, the next tick looks)."""
        ...

    def hold(self, until: datetime) -> None:
        """A tick starts working: store `until` (when to look again should the tick die) and start
        remembering the earliest `lower` from now on."""
        ...

    def release(self, to: datetime) -> None:
        """A tick is done: store `to`, or the earliest value lowered since `hold` if that is earlier."""
        ...


class FileGate:
    """The gate as a small file in the data dir: the instant on its first line, the earliest value
    lowered since the last `hold` on its second. Writers serialise on an flock'ed lock file and
    replace the file by rename, so readers never take the lock and never see half a value."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def read(self) -> datetime | None:
        return self._state()[0]

    def lower(self, to: datetime) -> None:
        to = _as_utc(to)
        with self._locked():
            wake, lowered = self._state()
            self._write(
                to if wake is not None and to < wake else wake,
                to if lowered is None or to < lowered else lowered,
            )

    def set(self, to: datetime | None) -> None:
        with self._locked():
            self._write(None if to is None else _as_utc(to), None)

    def hold(self, until: datetime) -> None:
        self.set(until)

    def release(self, to: datetime) -> None:
        to = _as_utc(to)
        with self._locked():
            lowered = self._state()[1]
            self._write(to if lowered is None or to < lowered else lowered, None)

    def _state(self) -> tuple[datetime | None, datetime | None]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return None, None
        wake, lowered = [*lines, "", ""][:2]
        return _parse(wake), _parse(lowered)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, wake: datetime | None, lowered: datetime | None) -> None:
        text = "\n".join("" if value is None else value.isoformat() for value in (wake, lowered))
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text + "\n")
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise


def gate_for(settings: Settings) -> NextWakeGate:
    """A file in the data dir locally; in aws mode a DynamoDB item (`shared.scheduler.gate_dynamodb`),
    one gate per table so its boto3 client is reused across calls."""
    if settings.mode == "aws":
        return _dynamodb_gate(settings.gate_table, settings.aws_region, settings.aws_endpoint_url)
    return FileGate(settings.data_dir / GATE_FILE)


@functools.lru_cache(maxsize=4)
def _dynamodb_gate(table: str, region: str | None, endpoint_url: str | None) -> NextWakeGate:
    from shared.scheduler.gate_dynamodb import DynamoDbGate

    return DynamoDbGate(table, region=region, endpoint_url=endpoint_url)


def lower_next_wake(settings: Settings, when: datetime) -> None:
    """Call after committing a schedule or an execution that becomes due at `when`."""
    gate_for(settings).lower(when)


def _parse(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"the gate takes aware datetimes, got naive {value.isoformat()}")
    return value.astimezone(UTC)
