"""`text.combine` and `flow.delay`."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.flow import DelayConfig
from shared.settings import Settings


async def test_combine_joins_text_parts_with_separator(run_node) -> None:
    output = await run_node("text.combine", {"parts": ["a", "b", "c"], "separator": ", "})

    assert output == {"text": "a, b, c"}


async def test_combine_writes_other_values_as_compact_json_and_null_as_nothing(run_node) -> None:
    output = await run_node("text.combine", {"parts": ["n=", 3, " ok=", True, " ", {"é": [1, 2.5]}, None, "!"]})

    assert output == {"text": 'n=3 ok=true {"é":[1,2.5]}!'}


async def test_delay_waits_and_reports_the_wait(run_node) -> None:
    started = time.monotonic()

    output = await run_node("flow.delay", {"seconds": 0.05})

    assert output == {"waited_s": 0.05}
    assert time.monotonic() - started >= 0.05


async def test_delay_over_the_cap_fails_naming_the_cap(run_node) -> None:
    with pytest.raises(NodeError, match=r"over the 2s limit \(delay_max_s\)") as failed:
        await run_node("flow.delay", {"seconds": 2.5}, settings=Settings(delay_max_s=2))

    assert not failed.value.retryable


async def test_delay_is_interrupted_by_a_timeout(run_node) -> None:
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await run_node("flow.delay", {"seconds": 30})

    assert time.monotonic() - started < 1


@pytest.mark.parametrize("seconds", [-1, "inf", "nan"])
def test_delay_rejects_negative_or_endless_waits(seconds) -> None:
    with pytest.raises(ValidationError):
        DelayConfig.model_validate({"seconds": seconds})
