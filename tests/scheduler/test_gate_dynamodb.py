"""The aws-mode "next wake" gate: a DynamoDB item on moto in server mode, with the file gate's
semantics, and atomic lowering under concurrent writers."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest

from shared.scheduler import gate_for, lower_next_wake
from shared.scheduler.gate_dynamodb import DynamoDbGate
from shared.settings import Settings
from tests.support.moto_server import REGION, create_gate_table

T = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb(aws_env, moto_endpoint: str):
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def table(dynamodb) -> str:
    name = f"gate-{uuid.uuid4().hex[:8]}"
    create_gate_table(dynamodb, name)
    return name


@pytest.fixture
def gate(table: str, moto_endpoint: str) -> DynamoDbGate:
    return DynamoDbGate(table, region=REGION, endpoint_url=moto_endpoint)


def test_a_new_gate_is_unknown(gate: DynamoDbGate) -> None:
    assert gate.read() is None


def test_set_stores_any_instant_and_none(gate: DynamoDbGate) -> None:
    gate.set(T)
    assert gate.read() == T
    gate.set(T + timedelta(hours=1, microseconds=7))
    assert gate.read() == T + timedelta(hours=1, microseconds=7)
    gate.set(None)
    assert gate.read() is None


def test_lower_moves_earlier_only(gate: DynamoDbGate) -> None:
    gate.set(T)
    gate.lower(T + timedelta(minutes=5))
    assert gate.read() == T
    gate.lower(T - timedelta(minutes=5))
    assert gate.read() == T - timedelta(minutes=5)


def test_lowering_an_unknown_gate_keeps_it_unknown(gate: DynamoDbGate) -> None:
    gate.lower(T)
    assert gate.read() is None


def test_values_come_back_in_utc(gate: DynamoDbGate) -> None:
    gate.set(T.astimezone(ZoneInfo("Europe/Berlin")))
    assert gate.read() == T
    assert gate.read().tzinfo == UTC


def test_naive_datetimes_are_refused(gate: DynamoDbGate) -> None:
    with pytest.raises(ValueError, match="naive"):
        gate.lower(datetime(2030, 1, 1))


def test_release_keeps_what_was_lowered_while_held(gate: DynamoDbGate) -> None:
    gate.hold(T + timedelta(minutes=1))
    gate.lower(T + timedelta(minutes=30))
    assert gate.read() == T + timedelta(minutes=1)
    gate.release(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(minutes=30)


def test_release_takes_its_own_value_when_that_is_earlier(gate: DynamoDbGate) -> None:
    gate.hold(T + timedelta(minutes=1))
    gate.lower(T + timedelta(minutes=30))
    gate.release(T + timedelta(minutes=10))
    assert gate.read() == T + timedelta(minutes=10)


def test_lowers_before_a_hold_are_forgotten_by_it(gate: DynamoDbGate) -> None:
    gate.set(T)
    gate.lower(T - timedelta(minutes=30))
    gate.hold(T + timedelta(minutes=1))
    gate.release(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(hours=1)


def test_a_release_racing_a_lower_keeps_the_lowered_value(gate: DynamoDbGate, dynamodb) -> None:
    """A lower that lands between the release's read and its write fails the release's condition;
    the release reads again and keeps it."""
    gate.hold(T + timedelta(minutes=1))
    racer = DynamoDbGate(gate.table, client=dynamodb)
    original_item = gate._item
    raced = []

    def item_then_race():
        item = original_item()
        if not raced:
            raced.append(True)
            racer.lower(T + timedelta(minutes=5))
        return item

    gate._item = item_then_race
    gate.release(T + timedelta(hours=1))
    assert gate.read() == T + timedelta(minutes=5)


def test_concurrent_lowering_threads_leave_the_earliest(gate: DynamoDbGate, moto_endpoint: str) -> None:
    gate.set(T + timedelta(days=1))
    offsets = list(range(40, 0, -1)) + list(range(1, 40))
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def lower(share: list[int]) -> None:
        writer = DynamoDbGate(gate.table, region=REGION, endpoint_url=moto_endpoint)
        barrier.wait()
        try:
            for minutes in share:
                writer.lower(T + timedelta(minutes=minutes))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lower, args=(offsets[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert gate.read() == T + timedelta(minutes=1)


def test_concurrent_lowers_during_a_hold_survive_the_release(gate: DynamoDbGate, moto_endpoint: str) -> None:
    gate.hold(T + timedelta(minutes=1))
    barrier = threading.Barrier(5)

    def lower(minutes: list[int]) -> None:
        writer = DynamoDbGate(gate.table, region=REGION, endpoint_url=moto_endpoint)
        barrier.wait()
        for value in minutes:
            writer.lower(T + timedelta(minutes=value))

    threads = [threading.Thread(target=lower, args=(list(range(60 - i, 9, -4)),)) for i in range(4)]
    for thread in threads:
        thread.start()
    barrier.wait()
    gate.release(T + timedelta(hours=2))
    for thread in threads:
        thread.join()
    assert gate.read() == T + timedelta(minutes=10)


def test_aws_mode_keeps_the_gate_in_dynamodb(tmp_path: Path, table: str, moto_endpoint: str) -> None:
    settings = Settings(
        mode="aws", data_dir=tmp_path, gate_table=table, aws_region=REGION, aws_endpoint_url=moto_endpoint
    )
    gate = gate_for(settings)
    assert isinstance(gate, DynamoDbGate)
    gate.set(T)
    lower_next_wake(settings, T - timedelta(minutes=1))
    assert gate_for(settings) is gate
    assert DynamoDbGate(table, region=REGION, endpoint_url=moto_endpoint).read() == T - timedelta(minutes=1)
