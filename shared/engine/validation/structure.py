"""Parsing a raw definition with the pydantic models, keeping what parses when the whole does not."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from shared.engine.definition import EdgeSpec, NodeSpec, WorkflowDefinition
from shared.engine.validation.issues import ValidationIssue, error_message, field_path


def parse_structure(
    raw: Mapping[str, Any],
) -> tuple[WorkflowDefinition | None, list[NodeSpec], list[EdgeSpec], list[ValidationIssue]]:
    """Parse the whole definition; when that fails, keep every node and edge that parses on its own."""
    try:
        definition = WorkflowDefinition.model_validate(raw)
    except ValidationError as exc:
        issues = [_structural_issue(error, raw) for error in exc.errors()]
    else:
        return definition, definition.nodes, definition.edges, []
    raw_nodes, raw_edges = raw.get("nodes"), raw.get("edges")
    nodes = list(_parse_each(NodeSpec, raw_nodes))
    edges = list(_parse_each(EdgeSpec, raw_edges))
    return None, nodes, edges, issues


def declared_ids(raw: Mapping[str, Any]) -> set[str]:
    """Ids of every node that names one, parsed or not, so a broken node is not also reported as missing."""
    nodes = raw.get("nodes")
    count = len(nodes) if isinstance(nodes, list) else 0
    return {node_id for index in range(count) if (node_id := _raw_node_id(raw, index)) is not None}


def _parse_each(model: type[NodeSpec] | type[EdgeSpec], items: Any) -> Iterator[Any]:
    if not isinstance(items, list):
        return
    for item in items:
        try:
            yield model.model_validate(item)
        except ValidationError:
            continue


def _structural_issue(error: Mapping[str, Any], raw: Mapping[str, Any]) -> ValidationIssue:
    location = tuple(error["loc"])
    message = error_message(error)
    if len(location) >= 2 and location[0] == "nodes" and isinstance(location[1], int):
        node_id = _raw_node_id(raw, location[1])
        rest = field_path(location[2:])
        if node_id is not None and location[2:] != ("id",):
            return ValidationIssue(message, node=node_id, field=rest or None)
        return ValidationIssue(message, field=f"nodes[{location[1]}]" + (f".{rest}" if rest else ""))
    if len(location) >= 2 and location[0] == "edges" and isinstance(location[1], int):
        rest = field_path(location[2:])
        return ValidationIssue(message, field=f"edges[{location[1]}]" + (f".{rest}" if rest else ""))
    return ValidationIssue(message, field=field_path(location) or None)


def _raw_node_id(raw: Mapping[str, Any], index: int) -> str | None:
    nodes = raw.get("nodes")
    if isinstance(nodes, list) and index < len(nodes) and isinstance(nodes[index], Mapping):
        node_id = nodes[index].get("id")
        return node_id if isinstance(node_id, str) and node_id else None
    return None
