"""Markdown reference of the node types, generated from the registry into docs/nodes.md."""

from __future__ import annotations

import json
from typing import Any

from shared.nodes.registry import NodeRegistry, NodeType

HEADER = """# Node types

Generated from the registry by `flowbuilder node-types --markdown > docs/nodes.md`; a test fails
when this file and the registry disagree. Every string in a node's config may hold templates
(`{{ input.x }}`, `{{ nodes.<id>.output }}`, `{{ execution.id }}`), except fields marked
*expression*, which are evaluated by the node itself. Common node settings (`retry`,
`timeout_s`, `for_each`) are described in [concepts.md](concepts.md).
"""


def render_markdown(registry: NodeRegistry) -> str:
    parts = [HEADER, "| type | lane | credits | summary |", "|---|---|---|---|"]
    for node_type in registry:
        summary = node_type.description.split(". ")[0].rstrip(".")
        parts.append(
            f"| [`{node_type.name}`](#{_anchor(node_type.name)}) | {node_type.lane} | {node_type.cost} | {summary} |"
        )
    for node_type in registry:
        parts.append(_section(node_type))
    return "\n".join(parts).rstrip() + "\n"


def _anchor(name: str) -> str:
    return name.replace(".", "")


def _section(node_type: NodeType) -> str:
    lines = [f"\n## `{node_type.name}`\n", node_type.description or "(no description)", ""]
    facts = [f"lane: `{node_type.lane}`", f"credits per run: {node_type.cost}"]
    if node_type.branches:
        facts.append("branches: " + ", ".join(f"`{b}`" for b in node_type.branches))
    if node_type.side_effects:
        facts.append("has side effects (gets an idempotency key)")
    lines += [" · ".join(facts), ""]
    schema = node_type.config_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | default | description |", "|---|---|---|---|---|"]
        for name, prop in properties.items():
            kind = _type_of(prop, schema)
            if name in node_type.raw_fields:
                kind += " (JMESPath expression)" if node_type.raw_fields[name] == "jmespath" else " (expression)"
            default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
            description = (prop.get("description") or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {kind} | {'yes' if name in required else ''} | {default} | {description} |")
    return "\n".join(lines)


def _type_of(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type_of(option, schema) for option in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array" and "items" in prop:
        return f"list of {_type_of(prop['items'], schema)}"
    return str(kind)
