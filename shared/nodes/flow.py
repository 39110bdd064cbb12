"""`flow.delay`: wait before going on."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


class DelayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="flow.delay")

    seconds: float = Field(ge=0, allow_inf_nan=False, description="How long to wait, in seconds.", examples=[5, 0.5])


async def run_delay(ctx: NodeContext, config: DelayConfig) -> dict[str, float]:
    """Wait a number of seconds, then continue.

    The wait is capped by the server (5 minutes by default); for longer pauses, schedule a workflow
    instead. Cancelling the run or reaching the node's timeout ends the wait.
    """
    cap = ctx.settings.delay_max_s
    if config.seconds > cap:
        raise NodeError(f"delay of {config.seconds:g}s is over the {cap:g}s limit (delay_max_s)", retryable=False)
    await asyncio.sleep(config.seconds)
    return {"waited_s": config.seconds}


NODE_TYPES = (NodeType(name="flow.delay", config_model=DelayConfig, run=run_delay, cost=0),)
