"""`logic.condition`: a bare expression picks the branch."""

from __future__ import annotations

import pytest

from shared.engine.errors import NodeError
from shared.nodes import default_registry

SCOPE = {
    "input": {"amount": 150, "currency": "EUR", "tags": []},
    "nodes": {"fetch": {"output": {"status": 200}}},
    "execution": {"trigger": "manual"},
}


def test_condition_declares_branches_and_keeps_expr_raw() -> None:
    node_type = default_registry().get("logic.condition")

    assert node_type.branches == ("true", "false")
    assert node_type.raw_fields == {"expr": "template"}
    assert node_type.cost == 0


@pytest.mark.parametrize(
    ("expr", "result"),
    [
        ("nodes.fetch.output.status == 200", True),
        ("input.amount > 100 and input.currency == 'USD'", False),
        ("execution.trigger in ['manual', 'api']", True),
        ("input.tags", False),
        ("input.currency", True),
    ],
)
async def test_condition_takes_the_branch_of_the_result(run_node, expr: str, result: bool) -> None:
    output = await run_node("logic.condition", {"expr": expr}, scope=SCOPE)

    assert output == {"result": result, "branch": "true" if result else "false"}


@pytest.mark.parametrize("expr", ["input.amount >", "input.amount / 0 > 1"])
async def test_expression_that_fails_is_a_permanent_error(run_node, expr: str) -> None:
    with pytest.raises(NodeError, match="could not be evaluated") as failed:
        await run_node("logic.condition", {"expr": expr}, scope=SCOPE)

    assert expr in failed.value.message
    assert not failed.value.retryable
