"""Validating a workflow definition before it is saved: every problem at once, each naming node and field.

Structure comes from the pydantic models in `shared.engine.definition` (`structure`); the graph
(`graph`), and the node types' config schemas and the templates (`node_checks`) are checked here.
Config values that are templates are typed only at run time, so a schema error about a template
string is not reported. `raw_fields` hold bare expressions, checked as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from shared.engine.definition import WorkflowDefinition
from shared.engine.templating import TemplateEngine
from shared.engine.validation.graph import GraphCheck
from shared.engine.validation.issues import DefinitionInvalid, IssueLog, ValidationIssue
from shared.engine.validation.node_checks import NodeCheck
from shared.engine.validation.structure import declared_ids, parse_structure
from shared.nodes.registry import NodeRegistry

__all__ = ["DefinitionInvalid", "ValidationIssue", "parse_definition", "validate_definition"]


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
        definition, nodes, edges, issues = parse_structure(raw)
        declared = declared_ids(raw)
        if not isinstance(raw.get("nodes", []), list):
            declared.add("")  # `nodes` is not a list: reported as such, not also as empty
    log = IssueLog(issues)
    graph = GraphCheck(nodes, edges, registry, declared, log)
    graph.check()
    node_check = NodeCheck(graph, registry, templates or _default_engine(), log)
    for node in nodes:
        node_check.check(node)
    return (definition if not issues else None), issues


@lru_cache(maxsize=1)
def _default_engine() -> TemplateEngine:
    return TemplateEngine()
