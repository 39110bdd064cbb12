"""`logic.condition`: choose a branch from an expression over the workflow's data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


class ConditionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="logic.condition")

    expr: str = Field(
        min_length=1,
        description="An expression without {{ }}, reading input, nodes.<id>.output and execution.",
        examples=["nodes.fetch.output.status == 200", "input.amount > 100 and input.currency == 'EUR'"],
    )


async def run_condition(ctx: NodeContext, config: ConditionConfig) -> dict[str, Any]:
    """Evaluate an expression and take the "true" or "false" branch.

    The expression is written without {{ }} and can read `input`, `nodes.<id>.output` and
    `execution`. Its result counts as true or false the way an `if` does: empty text, 0, an empty
    list and a missing value are false. Connect the next nodes with `when: "true"` or `when: "false"`.
    """
    try:
        value = ctx.evaluate(config.expr)
    except Exception as exc:
        raise NodeError(f"condition {config.expr!r} could not be evaluated: {exc}", retryable=False) from exc
    result = bool(value)
    return {"result": result, "branch": "true" if result else "false"}


NODE_TYPES = (
    NodeType(
        name="logic.condition",
        config_model=ConditionConfig,
        run=run_condition,
        cost=0,
        branches=("true", "false"),
        raw_fields={"expr": "template"},
    ),
)
