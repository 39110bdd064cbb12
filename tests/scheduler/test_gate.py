"""The "next wake" gate's file backend: lowering only moves it earlier, even with concurrent writers."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.scheduler import FileGate, gate_for, lower_next_wake
from shared.settings import Settings

T = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def gate(tmp_path: Path) -> FileGate:
    return FileGate(tmp_path / "next-wake")


def test_a_new_gate_is_unknown(gate: FileGate) -> None:
    assert gate.read() is None


def test_set_stores_any_instant_and_none(gate: FileGate) -> None:
    gate.set(T)
    assert gate.read() == T
    gate.set(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(hours=1)
    gate.set(None)
    assert gate.read() is None


def test_lower_moves_earlier_only(gate: FileGate) -> None:
    gate.set(T)
    gate.lower(T + timedelta(minutes=5))
    assert gate.read() == T
    gate.lower(T - timedelta(minutes=5))
    assert gate.read() == T - timedelta(minutes=5)


def test_lowering_an_unknown_gate_keeps_it_unknown(gate: FileGate) -> None:
    """Unknown already means "look now": nothing is earlier."""
    gate.lower(T)
    assert gate.read() is None


def test_values_come_back_in_utc(gate: FileGate) -> None:
    gate.set(T.astimezone(ZoneInfo("Europe/Berlin")))
    assert gate.read() == T
    assert gate.read().tzinfo == UTC


def test_naive_datetimes_are_refused(gate: FileGate) -> None:
    with pytest.raises(ValueError, match="naive"):
        gate.lower(datetime(2030, 1, 1))


def test_an_unreadable_value_reads_as_unknown(gate: FileGate) -> None:
    gate.path.write_text("not a time")
    assert gate.read() is None


def test_release_keeps_what_was_lowered_while_held(gate: FileGate) -> None:
    gate.hold(T + timedelta(minutes=1))
    gate.lower(T + timedelta(minutes=30))  # later than the hold: the gate does not move, yet it counts
    assert gate.read() == T + timedelta(minutes=1)
    gate.release(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(minutes=30)


def test_release_takes_its_own_value_when_that_is_earlier(gate: FileGate) -> None:
    gate.hold(T + timedelta(minutes=1))
    gate.lower(T + timedelta(minutes=30))
    gate.release(T + timedelta(minutes=10))
    assert gate.read() == T + timedelta(minutes=10)


def test_lowers_before_a_hold_are_forgotten_by_it(gate: FileGate) -> None:
    """The tick's queries, which come after the hold, see whatever those writers committed."""
    gate.set(T)
    gate.lower(T - timedelta(minutes=30))
    gate.hold(T + timedelta(minutes=1))
    gate.release(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(hours=1)


def test_concurrent_lowering_threads_leave_the_earliest(gate: FileGate) -> None:
    gate.set(T + timedelta(days=1))
    offsets = list(range(200, 0, -1)) + list(range(1, 200))
    barrier = threading.Barrier(8)

    def lower(share: list[int]) -> None:
        barrier.wait()
        for minutes in share:
            FileGate(gate.path).lower(T + timedelta(minutes=minutes))

    threads = [threading.Thread(target=lower, args=(offsets[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gate.read() == T + timedelta(minutes=1)


def _lower_from_process(path: str, minutes: list[int]) -> None:
    for value in minutes:
        FileGate(Path(path)).lower(T + timedelta(minutes=value))


def test_concurrent_lowering_processes_leave_the_earliest(gate: FileGate) -> None:
    gate.set(T + timedelta(days=1))
    context = multiprocessing.get_context("fork")
    shares = [list(range(300 - i, 0, -4)) for i in range(4)]  # each process lowers step by step
    processes = [context.Process(target=_lower_from_process, args=(str(gate.path), share)) for share in shares]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert gate.read() == T + timedelta(minutes=min(min(share) for share in shares))


def test_local_mode_keeps_the_gate_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    gate = gate_for(settings)
    gate.set(T)
    lower_next_wake(settings, T - timedelta(minutes=1))
    assert gate_for(settings).read() == T - timedelta(minutes=1)
    assert (tmp_path / "data" / "next-wake").exists()
