"""Checks of each node: its type, its config against the type's schema, its templates and expressions,
and the nodes they read, which must be upstream."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import ValidationError

from shared.engine.definition import NodeSpec
from shared.engine.templating import TemplateEngine
from shared.engine.validation.graph import GraphCheck
from shared.engine.validation.issues import IssueLog, error_message, field_path
from shared.nodes.registry import NodeRegistry, NodeType

_TYPE_FREE_ERRORS = frozenset({"missing", "extra_forbidden"})
"""Schema errors that hold whatever the value is, template or not."""


class NodeCheck:
    def __init__(self, graph: GraphCheck, registry: NodeRegistry, templates: TemplateEngine, log: IssueLog) -> None:
        self.graph = graph
        self.registry = registry
        self.templates = templates
        self.add = log.add

    def check(self, node: NodeSpec) -> None:
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
                if raw_fields[key] == "literal":
                    if any(TemplateEngine.has_template(text) for _, text in _strings(value, key)):
                        self.add(
                            f"templates are not allowed in config.{key}: it is used as written; "
                            "pass values separately (e.g. as parameters)",
                            node=node.id,
                            field=f"config.{key}",
                        )
                elif isinstance(value, str):
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
                field = field_path(("config", *error["loc"]))
                self.add(error_message(error), node=node.id, field=field)

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
            elif reference not in self.graph.ids:
                message = f"reads nodes.{reference}, but there is no node {reference!r}"
            elif reference not in self.graph.ancestors(node.id):
                message = (
                    f"reads nodes.{reference}, but {reference!r} is not upstream of {node.id!r} "
                    f"(add an edge path from {reference!r} to {node.id!r})"
                )
            else:
                continue
            self.add(message, node=node.id, field=field)


def _has_template(value: Any) -> bool:
    return isinstance(value, str) and TemplateEngine.has_template(value)


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
