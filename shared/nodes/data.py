"""`data.transform` and `data.map`: reshape data between nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


class TransformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="data.transform")

    expression: str = Field(
        min_length=1,
        description="A JMESPath expression (https://jmespath.org), written without {{ }}.",
        examples=["nodes.fetch.output.body.items[?price > `10`].name", "input.orders[*].{id: id, total: amount}"],
    )
    data: Any = Field(
        default=None,
        description="The value to query; by default an object holding input, nodes and execution.",
        examples=["{{ nodes.fetch.output.body }}"],
    )


async def run_transform(ctx: NodeContext, config: TransformConfig) -> dict[str, Any]:
    """Query and reshape data with a JMESPath expression; the result is in `result`.

    Without `data`, the expression reads an object holding `input`, `nodes` (each node's `output`)
    and `execution`, so `nodes.fetch.output.body.items[*].id` works as is. A path that matches
    nothing gives null.
    """
    try:
        compiled = jmespath.compile(config.expression)
    except JMESPathError as exc:
        raise NodeError(f"invalid JMESPath expression {config.expression!r}: {exc}", retryable=False) from exc
    data = config.data if "data" in config.model_fields_set else dict(ctx.scope)
    try:
        result = compiled.search(data)
    except JMESPathError as exc:
        raise NodeError(f"JMESPath expression {config.expression!r} failed: {exc}", retryable=False) from exc
    return {"result": result}


class MapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="data.map")

    fields: dict[str, Any] = Field(
        description='Output fields and their values; a dotted name ("customer.email") builds nested objects.',
        examples=[{"customer.email": "{{ input.email }}", "customer.name": "{{ input.name }}", "source": "web"}],
    )

    @field_validator("fields")
    @classmethod
    def _consistent_targets(cls, fields: dict[str, Any]) -> dict[str, Any]:
        paths = {tuple(target.split(".")): target for target in fields}
        for path, target in paths.items():
            if not all(path):
                raise ValueError(f"field {target!r} has an empty name segment")
            for end in range(1, len(path)):
                if path[:end] in paths:
                    raise ValueError(f"field {target!r} is inside {paths[path[:end]]!r}, which is also set")
        return fields


async def run_map(ctx: NodeContext, config: MapConfig) -> dict[str, Any]:
    """Build an object from named fields; the output is that object.

    Each field's value is usually a template such as `{{ input.email }}`. A dotted field name
    nests: `customer.email` and `customer.name` give `{"customer": {"email": ..., "name": ...}}`.
    """
    mapped: dict[str, Any] = {}
    for target, value in config.fields.items():
        *parents, leaf = target.split(".")
        node = mapped
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    return mapped


NODE_TYPES = (
    NodeType(
        name="data.transform",
        config_model=TransformConfig,
        run=run_transform,
        cost=0,
        raw_fields={"expression": "jmespath"},
    ),
    NodeType(name="data.map", config_model=MapConfig, run=run_map, cost=0),
)
