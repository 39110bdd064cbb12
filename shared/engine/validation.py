"""Validating a workflow definition before it is saved: every problem at once, each naming node and field.

Structure comes from the pydantic models in `shared.engine.definition`; the graph, the node types'
config schemas and the templates are checked here. Config values that are templates are typed only
at run time, so a schema error about a template string is not reported. `raw_fields` hold bare
expressions, checked as such.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import ValidationError

from shared.engine.definition import EdgeSpec, NodeSpec, WorkflowDefinition
from shared.engine.templating import TemplateEngine
from shared.nodes.registry import NodeRegistry, NodeType

_TYPE_FREE_ERRORS = frozenset({"missing", "extra_forbidden"})
"""Schema errors that hold whatever the value is, template or not."""


@dataclass(frozen=True)
class ValidationIssue:
    message: str
    node: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = " ".join(part for part in (f"node {self.node!r}" if self.node else "", self.field or "") if part)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "node": self.node, "message": self.message}


class DefinitionInvalid(ValueError):
    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(issue) for issue in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"workflow definition is invalid: {shown}{more}")


def parse_definition(
    raw: Mapping[str, Any] | WorkflowDefinition, registry: NodeRegistry, templates: TemplateEngine | None = None
) -> WorkflowDefinition:
    definition, issues = validate_definition(raw, registry, templates)
    if issues or definition is None:
        raise DefinitionInvalid(issues)
    return definition


def validate_definition(
    raw: Mapping[str, Any] | WorkflowDefinition, registry: NodeRegistry, templates: TemplateEngine | None = None
) -> tuple[WorkflowDefinition | None, list[ValidationIssue]]:
    """The parsed definition and no issues, or None and every issue found."""
    if isinstance(raw, WorkflowDefinition):
        definition: WorkflowDefinition | None = raw
        nodes, edges, issues = raw.nodes, raw.edges, []
        declared = {node.id for node in nodes}
    elif not isinstance(raw, Mapping):
        return None, [ValidationIssue("a workflow definition must be a JSON object")]
    else:
        definition, nodes, edges, issues = _parse(raw)
        declared = _declared_ids(raw)
        if not isinstance(raw.get("nodes", []), list):
            declared.add("")  # `nodes` is not a list: reported as such, not also as empty
    check = _GraphCheck(nodes, edges, registry, templates or _default_engine(), declared)
    issues.extend(check.issues())
    return (definition if not issues else None), issues


@lru_cache(maxsize=1)
def _default_engine() -> TemplateEngine:
    return TemplateEngine()


# --- structure ------------------------------------------------------------------------------


def _parse(
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
    nodes = [node for node in _parse_each(NodeSpec, raw_nodes)]
    edges = [edge for edge in _parse_each(EdgeSpec, raw_edges)]
    return None, nodes, edges, issues


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
    message = _message(error)
    if len(location) >= 2 and location[0] == "nodes" and isinstance(location[1], int):
        node_id = _raw_node_id(raw, location[1])
        rest = _path(location[2:])
        if node_id is not None and location[2:] != ("id",):
            return ValidationIssue(message, node=node_id, field=rest or None)
        return ValidationIssue(message, field=f"nodes[{location[1]}]" + (f".{rest}" if rest else ""))
    if len(location) >= 2 and location[0] == "edges" and isinstance(location[1], int):
        rest = _path(location[2:])
        return ValidationIssue(message, field=f"edges[{location[1]}]" + (f".{rest}" if rest else ""))
    return ValidationIssue(message, field=_path(location) or None)


def _declared_ids(raw: Mapping[str, Any]) -> set[str]:
    """Ids of every node that names one, parsed or not, so a broken node is not also reported as missing."""
    nodes = raw.get("nodes")
    count = len(nodes) if isinstance(nodes, list) else 0
    return {node_id for index in range(count) if (node_id := _raw_node_id(raw, index)) is not None}


def _raw_node_id(raw: Mapping[str, Any], index: int) -> str | None:
    nodes = raw.get("nodes")
    if isinstance(nodes, list) and index < len(nodes) and isinstance(nodes[index], Mapping):
        node_id = nodes[index].get("id")
        return node_id if isinstance(node_id, str) and node_id else None
    return None


def _path(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message[:1].lower() + message[1:]


def _has_template(value: Any) -> bool:
    return isinstance(value, str) and TemplateEngine.has_template(value)


# --- graph, types, config and templates --------------------------------------------------------


class _GraphCheck:
    def __init__(
        self,
        nodes: list[NodeSpec],
        edges: list[EdgeSpec],
        registry: NodeRegistry,
        templates: TemplateEngine,
        declared: set[str],
    ) -> None:
        self.nodes = nodes
        self.edges = edges
        self.registry = registry
        self.templates = templates
        self.ids = declared | {node.id for node in nodes}
        self.parents: dict[str, set[str]] = defaultdict(set)
        self._ancestors: dict[str, frozenset[str]] = {}
        self.found: list[ValidationIssue] = []

    def issues(self) -> list[ValidationIssue]:
        if not self.ids:
            self.add("a workflow needs at least one node", field="nodes")
        self.check_ids()
        self.check_edges()
        self.check_cycles()
        for node in self.nodes:
            self.check_node(node)
        return self.found

    def add(self, message: str, *, node: str | None = None, field: str | None = None) -> None:
        self.found.append(ValidationIssue(message, node=node, field=field))

    def check_ids(self) -> None:
        first_index: dict[str, int] = {}
        for index, node in enumerate(self.nodes):
            if node.id in first_index:
                self.add(
                    f"duplicate node id {node.id!r} (also nodes[{first_index[node.id]}])",
                    node=node.id,
                    field=f"nodes[{index}].id",
                )
            else:
                first_index[node.id] = index

    def check_edges(self) -> None:
        seen: dict[tuple[str, str, str | None], int] = {}
        types: dict[str, str] = {}
        for node in self.nodes:
            types.setdefault(node.id, node.type)
        for index, edge in enumerate(self.edges):
            owner = edge.source if edge.source in self.ids else None
            for end, node_id in (("from", edge.source), ("to", edge.target)):
                if node_id not in self.ids:
                    self.add(f"edge {end} unknown node {node_id!r}", node=owner, field=f"edges[{index}].{end}")
            key = (edge.source, edge.target, edge.when)
            if key in seen:
                self.add(
                    f"duplicate edge {edge.source!r} -> {edge.target!r} (also edges[{seen[key]}])",
                    node=owner,
                    field=f"edges[{index}]",
                )
            seen.setdefault(key, index)
            if edge.source == edge.target:
                self.add(f"edge from {edge.source!r} to itself", node=owner, field=f"edges[{index}]")
            elif edge.source in self.ids and edge.target in self.ids:
                self.parents[edge.target].add(edge.source)
            if edge.when is not None and types.get(edge.source) in self.registry:
                self.check_when(index, edge, self.registry.get(types[edge.source]))

    def check_when(self, index: int, edge: EdgeSpec, node_type: NodeType) -> None:
        if not node_type.branches:
            message = f"{edge.source!r} ({node_type.name}) has no branches, so its edges can't have a 'when'"
        elif edge.when not in node_type.branches:
            valid = ", ".join(repr(branch) for branch in node_type.branches)
            message = f"{edge.when!r} is not a branch of {node_type.name}; valid branches: {valid}"
        else:
            return
        self.add(message, node=edge.source, field=f"edges[{index}].when")

    def check_cycles(self) -> None:
        graph = {node_id: set(parents) for node_id, parents in self.parents.items()}
        for _ in range(len(self.edges) + 1):
            try:
                TopologicalSorter(graph).prepare()
                return
            except CycleError as exc:
                cycle = list(exc.args[1])  # [a, b, ..., a], each node a predecessor of the next
                self.add("cycle: " + " -> ".join(cycle), node=cycle[0], field="edges")
                graph[cycle[1]].discard(cycle[0])

    def ancestors(self, node_id: str) -> frozenset[str]:
        known = self._ancestors.get(node_id)
        if known is None:
            found: set[str] = set()
            pending = list(self.parents.get(node_id, ()))
            while pending:
                parent = pending.pop()
                if parent not in found:
                    found.add(parent)
                    pending.extend(self.parents.get(parent, ()))
            known = self._ancestors[node_id] = frozenset(found)
        return known

    def check_node(self, node: NodeSpec) -> None:
        node_type = self.registry.get(node.type) if node.type in self.registry else None
        if node_type is None:
            self.add(_unknown_type_message(node.type, self.registry), node=node.id, field="type")
        else:
            self.check_config(node, node_type)
            if node.for_each is not None and node_type.branches:
                self.add(
                    f"for_each is not allowed on {node_type.name}, a node type with branches",
                    node=node.id,
                    field="for_each",
                )
        raw_fields = node_type.raw_fields if node_type else {}
        for key, value in node.config.items():
            if key in raw_fields:
                if isinstance(value, str):
                    self.check_expression(node, f"config.{key}", value, raw_fields[key])
                continue
            for path, text in _strings(value, f"config.{key}"):
                if TemplateEngine.has_template(text):
                    self.check_template(node, path, text)
        if node.for_each is not None:
            if TemplateEngine.has_template(node.for_each):
                self.check_template(node, "for_each", node.for_each)
            else:
                self.add(
                    "for_each must be a template that yields a list, e.g. {{ input.items }}",
                    node=node.id,
                    field="for_each",
                )

    def check_config(self, node: NodeSpec, node_type: NodeType) -> None:
        try:
            node_type.config_model.model_validate(node.config)
        except ValidationError as exc:
            for error in exc.errors():
                if error["type"] not in _TYPE_FREE_ERRORS and _has_template(error.get("input")):
                    continue
                field = _path(("config", *error["loc"]))
                self.add(_message(error), node=node.id, field=field)

    def check_template(self, node: NodeSpec, field: str, text: str) -> None:
        problem = self.templates.syntax_error(text)
        if problem is not None:
            self.add(f"template does not parse: {problem}", node=node.id, field=field)
            return
        self.check_references(node, field, self.templates.node_references(text))

    def check_expression(self, node: NodeSpec, field: str, expression: str, language: str) -> None:
        if language == "jmespath":
            problem = _jmespath_error(expression)
            if problem is not None:
                self.add(f"JMESPath expression does not parse: {problem}", node=node.id, field=field)
            return
        problem = self.templates.expression_error(expression)
        if problem is not None:
            self.add(f"expression does not parse: {problem}", node=node.id, field=field)
            return
        self.check_references(node, field, self.templates.node_references(expression, expression=True))

    def check_references(self, node: NodeSpec, field: str, references: set[str]) -> None:
        for reference in sorted(references):
            if reference == node.id:
                message = f"reads nodes.{reference}, its own output, which does not exist yet"
            elif reference not in self.ids:
                message = f"reads nodes.{reference}, but there is no node {reference!r}"
            elif reference not in self.ancestors(node.id):
                message = (
                    f"reads nodes.{reference}, but {reference!r} is not upstream of {node.id!r} "
                    f"(add an edge path from {reference!r} to {node.id!r})"
                )
            else:
                continue
            self.add(message, node=node.id, field=field)


def _jmespath_error(expression: str) -> str | None:
    try:
        jmespath.compile(expression)
    except (JMESPathError, ValueError, TypeError) as exc:
        return str(exc).splitlines()[0] or type(exc).__name__
    return None


def _unknown_type_message(name: str, registry: NodeRegistry) -> str:
    close = difflib.get_close_matches(name, registry.names(), n=3, cutoff=0.6)
    if close:
        names = [repr(candidate) for candidate in close]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"unknown node type {name!r}; did you mean {listed}?"
    return f"unknown node type {name!r}"


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a config, with its path (`config.headers.Authorization`, `config.items[2]`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
