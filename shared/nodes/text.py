"""`text.combine`: join values into one piece of text."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


class CombineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="text.combine")

    parts: list[Any] = Field(
        description="The values to join, in order; text is used as is, other values as compact JSON.",
        examples=[["Hello ", "{{ input.name }}", "!"]],
    )
    separator: str = Field(default="", description="Put between consecutive parts.", examples=[", ", "\n"])


async def run_combine(ctx: NodeContext, config: CombineConfig) -> dict[str, str]:
    """Join parts into one text, with an optional separator between them.

    Text parts are used as they are; numbers, true/false, lists and objects are written as compact
    JSON, and empty (null) parts as nothing.
    """
    return {"text": config.separator.join(_as_text(part) for part in config.parts)}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


NODE_TYPES = (NodeType(name="text.combine", config_model=CombineConfig, run=run_combine, cost=0),)
