"""The per-version memo the scheduler, the workflow reads and the webhooks keep their facts in."""

from __future__ import annotations

import uuid

import pytest

from shared.version_memo import VersionMemo


def test_a_fact_is_computed_once_per_version():
    memo: VersionMemo[str] = VersionMemo()
    workflow_id = uuid.uuid4()
    calls: list[int] = []

    def compute(version: int):
        def work() -> str:
            calls.append(version)
            return f"v{version}"

        return work

    assert memo.get_or_compute(workflow_id, 1, compute(1)) == "v1"
    assert memo.get_or_compute(workflow_id, 1, compute(1)) == "v1"
    assert memo.get_or_compute(workflow_id, 2, compute(2)) == "v2"
    assert memo.get(workflow_id, 1) == "v1"
    assert calls == [1, 2]


def test_nothing_is_kept_when_computing_fails():
    memo: VersionMemo[str] = VersionMemo()
    workflow_id = uuid.uuid4()

    def fail() -> str:
        raise ValueError("does not plan")

    with pytest.raises(ValueError):
        memo.get_or_compute(workflow_id, 1, fail)

    assert memo.get(workflow_id, 1) is None
    assert memo.get_or_compute(workflow_id, 1, lambda: "planned") == "planned"


def test_it_starts_over_when_full():
    memo: VersionMemo[int] = VersionMemo(max_entries=3)
    ids = [uuid.uuid4() for _ in range(4)]
    for number, workflow_id in enumerate(ids):
        memo.get_or_compute(workflow_id, 1, lambda number=number: number)

    assert len(memo) == 1
    assert memo.get(ids[3], 1) == 3
    assert memo.get(ids[0], 1) is None
