"""Node types, one module per family; each module declares its types in `NODE_TYPES`.

Modules are imported when a registry is built, not when this package is imported, so a process
that never runs nodes (the API listing workflows, the scheduler) pays nothing for them.
"""

from __future__ import annotations

import importlib
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


@cache
def default_registry() -> NodeRegistry:
    """The registry of every built-in node type, built once per process."""
    return build_registry()
