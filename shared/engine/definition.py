"""The workflow definition stored in `workflow_versions.definition`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$"


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff_s: float = Field(default=1.0, ge=0, le=3600)
    max_backoff_s: float | None = Field(default=None, ge=0, le=3600)


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NODE_ID_PATTERN)
    type: str
    name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    for_each: str | None = Field(default=None, description="template yielding a list; runs once per item")
    position: dict[str, float] | None = Field(default=None, description="canvas position, for the builder")


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    when: str | None = None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 86_400, description="whole-execution limit")
    max_concurrency: int | None = Field(default=None, ge=1, le=64)

    def node(self, node_id: str) -> NodeSpec:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False)
