"""The node contract and the registry of node types.

A node type is a `family.action` name, a pydantic config model, a credit cost, a lane and an
async `run(ctx, config) -> output` returning JSON-able data. Each module of `shared.nodes`
declares its types in a `NODE_TYPES` tuple; `shared.nodes.build_registry()` collects them.
A type that declares `branches` returns a dict whose `"branch"` key names the branch taken;
edges choose on it with `when`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

Lane = Literal["light", "browser"]
ExpressionLanguage = Literal["template", "jmespath", "literal"]
RunFunction = Callable[["NodeContext", Any], Awaitable[Any]]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class NodeType:
    name: str
    config_model: type[BaseModel]
    run: RunFunction
    cost: int = 1
    lane: Lane = "light"
    description: str = ""
    branches: tuple[str, ...] = ()
    side_effects: bool = False
    raw_fields: Mapping[str, ExpressionLanguage] = field(default_factory=dict)
    """Top-level config keys passed through unrendered: bare expressions the node evaluates itself,
    in the template language (`nodes.a.output.ok == true`) or JMESPath (`items[?total > `100`]`),
    or `literal` text where a template is refused (SQL: values go in as parameters, never as text)."""

    def __post_init__(self) -> None:
        if not self.description and self.run.__doc__:
            object.__setattr__(self, "description", " ".join(self.run.__doc__.split()))

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    def config_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "cost": self.cost,
            "lane": self.lane,
            "branches": list(self.branches),
            "side_effects": self.side_effects,
            "config_schema": self.config_schema(),
        }


class UnknownNodeType(KeyError):
    pass


class NodeRegistry:
    def __init__(self, types: Iterable[NodeType] = ()) -> None:
        self._types: dict[str, NodeType] = {}
        for node_type in types:
            self.add(node_type)

    def add(self, node_type: NodeType) -> NodeType:
        if not NAME_PATTERN.match(node_type.name):
            raise ValueError(f"node type name {node_type.name!r} is not family.action")
        if node_type.name in self._types:
            raise ValueError(f"node type {node_type.name!r} is registered twice")
        self._types[node_type.name] = node_type
        return node_type

    def get(self, name: str) -> NodeType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownNodeType(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[NodeType]:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._types)

    def names(self) -> list[str]:
        return sorted(self._types)
