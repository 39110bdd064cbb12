from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentUser

router = APIRouter(tags=["node types"])


class NodeTypePublic(BaseModel):
    name: str
    family: str
    description: str
    cost: int
    lane: str
    branches: list[str]
    side_effects: bool
    config_schema: dict[str, Any]


@router.get("/node-types", response_model=list[NodeTypePublic])
def list_node_types(_user: CurrentUser) -> list[dict[str, Any]]:
    """Every node type with the JSON Schema of its config (the builder renders forms from it)."""
    from shared.nodes import default_registry

    return [node_type.describe() for node_type in default_registry()]
