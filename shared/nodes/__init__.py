"""Node types, one module per family; each module declares its types in `NODE_TYPES`.

Modules are imported when a registry needs them, not when this package is imported: the default
registry imports a family the first time one of its types is asked for, so a process pays only for
the families its workflows use (`build_registry` imports them all at once).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from functools import cache

from shared.nodes.registry import NodeRegistry, NodeType

FAMILY_MODULES: tuple[str, ...] = (
    "shared.nodes.http",
    "shared.nodes.logic",
    "shared.nodes.data",
    "shared.nodes.text",
    "shared.nodes.flow",
    "shared.nodes.ai",
    "shared.nodes.email",
    "shared.nodes.sms",
    "shared.nodes.slack",
    "shared.nodes.browser",
    "shared.nodes.hubspot",
    "shared.nodes.notion",
    "shared.nodes.odoo",
    "shared.nodes.n8n",
    "shared.nodes.brightdata",
    "shared.nodes.postgres",
)


def build_registry(modules: tuple[str, ...] = FAMILY_MODULES) -> NodeRegistry:
    registry = NodeRegistry()
    for module_name in modules:
        module = importlib.import_module(module_name)
        node_types: tuple[NodeType, ...] = module.NODE_TYPES
        for node_type in node_types:
            registry.add(node_type)
    return registry


class LazyNodeRegistry(NodeRegistry):
    """The built-in types, each family's module imported the first time one of its types is asked
    for: a worker running `data.map` and `logic.condition` never imports the browser or the
    integrations. Listing them all imports them all. Each module is named after its family."""

    def __init__(self, modules: tuple[str, ...] = FAMILY_MODULES) -> None:
        super().__init__()
        self._pending = {module.rsplit(".", 1)[1]: module for module in modules}
        self._lock = threading.Lock()

    def _load(self, family: str) -> None:
        if family not in self._pending:
            return
        with self._lock:
            module_name = self._pending.get(family)
            if module_name is None:
                return
            node_types: tuple[NodeType, ...] = importlib.import_module(module_name).NODE_TYPES
            for node_type in node_types:
                if node_type.family != family:
                    raise ValueError(f"{module_name} declares {node_type.name}, outside its family {family!r}")
                self.add(node_type)
            del self._pending[family]

    def _load_all(self) -> None:
        for family in list(self._pending):
            self._load(family)

    def get(self, name: str) -> NodeType:
        self._load(name.split(".", 1)[0])
        return super().get(name)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._load(name.split(".", 1)[0])
        return super().__contains__(name)

    def __iter__(self) -> Iterator[NodeType]:
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._load_all()
        return super().__len__()

    def names(self) -> list[str]:
        self._load_all()
        return super().names()


@cache
def default_registry() -> NodeRegistry:
    """The registry of every built-in node type, one per process, loading families on demand."""
    return LazyNodeRegistry()
