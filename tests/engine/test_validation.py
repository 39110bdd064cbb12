"""Validating workflow definitions: every problem at once, each naming its node and field."""

from __future__ import annotations

import time
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from shared.engine.definition import WorkflowDefinition
from shared.engine.templating import TemplateEngine
from shared.engine.validation import DefinitionInvalid, ValidationIssue, parse_definition, validate_definition
from shared.nodes.registry import NodeRegistry, NodeType


class FetchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    method: Literal["GET", "POST"] = "GET"
    count: int = 1
    headers: dict[str, str] = {}
    tags: list[str] = []


class ConditionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expr: str


class NoteConfig(BaseModel):
    text: str = ""


class QueryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str


async def run(ctx: Any, config: Any) -> dict[str, Any]:
    """Does nothing; the tests only validate."""
    return {}


REGISTRY = NodeRegistry(
    [
        NodeType("test.fetch", FetchConfig, run),
        NodeType("test.condition", ConditionConfig, run, branches=("true", "false"), raw_fields={"expr": "template"}),
        NodeType("test.note", NoteConfig, run),
        NodeType("calc.query", QueryConfig, run, raw_fields={"expression": "jmespath"}),
    ]
)


def node(node_id: str, node_type: str = "test.note", config: dict[str, Any] | None = None, **fields: Any) -> dict:
    return {"id": node_id, "type": node_type, "config": config or {}, **fields}


def edge(source: str, target: str, when: str | None = None) -> dict:
    return {"from": source, "to": target} | ({"when": when} if when else {})


def issues_of(nodes: list[dict], edges: list[dict] | None = None, **top: Any) -> list[ValidationIssue]:
    definition, issues = validate_definition({"nodes": nodes, "edges": edges or [], **top}, REGISTRY)
    assert (definition is None) == bool(issues)
    return issues


def only_issue(nodes: list[dict], edges: list[dict] | None = None) -> ValidationIssue:
    issues = issues_of(nodes, edges)
    assert len(issues) == 1, issues
    return issues[0]


# --- the result --------------------------------------------------------------------------------


def test_valid_definition_parses_without_issues():
    raw = {
        "nodes": [
            node("fetch", "test.fetch", {"url": "https://x/{{ input.q }}", "count": "{{ input.n }}"}),
            node("check", "test.condition", {"expr": "nodes.fetch.output.status == 200"}),
            node("note", config={"text": "{{ nodes.fetch.output.body }} {{ nodes.check.output.result }}"}),
        ],
        "edges": [edge("fetch", "check"), edge("check", "note", when="true")],
    }
    definition, issues = validate_definition(raw, REGISTRY)
    assert issues == []
    assert [n.id for n in definition.nodes] == ["fetch", "check", "note"]


def test_parse_definition_returns_the_definition():
    definition = parse_definition({"nodes": [node("a")]}, REGISTRY)
    assert isinstance(definition, WorkflowDefinition)


def test_parse_definition_raises_with_every_issue():
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition({"nodes": [node("a", "test.nope"), node("a")]}, REGISTRY)
    assert [issue.field for issue in caught.value.issues] == ["nodes[1].id", "type"]
    assert "node 'a' type: unknown node type 'test.nope'" in str(caught.value)


def test_parse_definition_is_a_value_error():
    with pytest.raises(ValueError):
        parse_definition({"nodes": []}, REGISTRY)


def test_accepts_a_parsed_workflow_definition():
    parsed = WorkflowDefinition.model_validate({"nodes": [node("a"), node("b")], "edges": [edge("b", "b")]})
    definition, issues = validate_definition(parsed, REGISTRY)
    assert definition is None
    assert [str(issue) for issue in issues] == ["node 'b' edges[0]: edge from 'b' to itself"]


def test_accepts_a_custom_template_engine():
    raw = {"nodes": [node("a", config={"text": "{{ x }}"})]}
    assert validate_definition(raw, REGISTRY, TemplateEngine())[1] == []


def test_issue_text_names_node_and_field():
    assert str(ValidationIssue("field required", node="fetch", field="config.url")) == (
        "node 'fetch' config.url: field required"
    )


def test_issue_text_without_node_names_field():
    assert (
        str(ValidationIssue("edge to unknown node 'x'", field="edges[2].to")) == "edges[2].to: edge to unknown node 'x'"
    )


def test_issue_as_dict():
    assert ValidationIssue("m", node="n", field="f").as_dict() == {"field": "f", "node": "n", "message": "m"}


# --- structure -------------------------------------------------------------------------------


def test_definition_must_be_an_object():
    _, issues = validate_definition(["not", "a", "dict"], REGISTRY)  # type: ignore[arg-type]
    assert [issue.message for issue in issues] == ["a workflow definition must be a JSON object"]


def test_workflow_without_nodes_is_invalid():
    issue = only_issue([])
    assert (issue.field, issue.message) == ("nodes", "a workflow needs at least one node")


def test_nodes_that_are_not_a_list_are_reported_once():
    issue = only_issue({"a": node("a")})  # type: ignore[arg-type]
    assert (issue.field, issue.message) == ("nodes", "input should be a valid list")


def test_structural_error_in_node_names_the_node():
    issue = only_issue([node("a"), {"id": "broken", "type": "test.note", "config": "not a dict"}])
    assert (issue.node, issue.field, issue.message) == ("broken", "config", "input should be a valid dictionary")


def test_structural_error_in_nested_node_field_names_the_node():
    issue = only_issue([node("a", retry={"max_attempts": 0})])
    assert (issue.node, issue.field) == ("a", "retry.max_attempts")


def test_invalid_node_id_names_its_position():
    issue = only_issue([node("a"), node("not valid!")])
    assert (issue.node, issue.field) == (None, "nodes[1].id")
    assert "should match pattern" in issue.message


def test_missing_node_id_names_its_position():
    issue = only_issue([node("a"), {"type": "test.note"}])
    assert (issue.field, issue.message) == ("nodes[1].id", "field required")


def test_structural_error_in_edge_names_the_edge_field():
    issue = only_issue([node("a"), node("b")], [{"from": "a"}])
    assert (issue.field, issue.message) == ("edges[0].to", "field required")


def test_unknown_top_level_key_is_reported():
    issues = issues_of([node("a")], colour="blue")
    assert [(issue.field, issue.message) for issue in issues] == [("colour", "extra inputs are not permitted")]


def test_node_that_fails_to_parse_is_not_also_reported_as_missing():
    issue = only_issue([node("a", retry={"max_attempts": 0}), node("b")], [edge("a", "b")])
    assert issue.field == "retry.max_attempts"


def test_other_problems_are_still_reported_next_to_structural_ones():
    issues = issues_of([node("a", timeout_s=-1), node("b", "test.nope")])
    assert [(issue.node, issue.field) for issue in issues] == [("a", "timeout_s"), ("b", "type")]


# --- ids, types and edges --------------------------------------------------------------------


def test_duplicate_node_ids_are_reported():
    issue = only_issue([node("a"), node("b"), node("a")])
    assert (issue.node, issue.field, issue.message) == ("a", "nodes[2].id", "duplicate node id 'a' (also nodes[0])")


def test_unknown_node_type_suggests_close_names():
    issue = only_issue([node("a", "test.fech")])
    assert (issue.node, issue.field) == ("a", "type")
    assert issue.message == "unknown node type 'test.fech'; did you mean 'test.fetch' or 'test.note'?"


def test_unknown_node_type_suggests_the_one_close_name():
    assert only_issue([node("a", "test.conditional")]).message == (
        "unknown node type 'test.conditional'; did you mean 'test.condition'?"
    )


def test_unknown_node_type_without_close_names():
    assert only_issue([node("a", "email.send")]).message == "unknown node type 'email.send'"


def test_edge_from_missing_node_is_reported():
    issue = only_issue([node("a")], [edge("ghost", "a")])
    assert (issue.node, issue.field, issue.message) == (None, "edges[0].from", "edge from unknown node 'ghost'")


def test_edge_to_missing_node_is_reported():
    issue = only_issue([node("a")], [edge("a", "ghost")])
    assert (issue.node, issue.field, issue.message) == ("a", "edges[0].to", "edge to unknown node 'ghost'")


def test_self_loop_is_reported():
    issue = only_issue([node("a")], [edge("a", "a")])
    assert (issue.node, issue.field, issue.message) == ("a", "edges[0]", "edge from 'a' to itself")


def test_cycle_names_the_nodes_on_it():
    issue = only_issue(
        [node("a"), node("b"), node("c"), node("d")], [edge("a", "b"), edge("b", "c"), edge("c", "d"), edge("d", "b")]
    )
    assert issue.field == "edges"
    assert issue.message in {"cycle: b -> c -> d -> b", "cycle: c -> d -> b -> c", "cycle: d -> b -> c -> d"}


def test_separate_cycles_are_each_reported():
    issues = issues_of(
        [node("a"), node("b"), node("c"), node("d")], [edge("a", "b"), edge("b", "a"), edge("c", "d"), edge("d", "c")]
    )
    cycles = [set(issue.message.removeprefix("cycle: ").split(" -> ")) for issue in issues]
    assert sorted(cycles, key=sorted) == [{"a", "b"}, {"c", "d"}]


def test_duplicate_edges_are_reported():
    issue = only_issue([node("a"), node("b")], [edge("a", "b"), edge("a", "b")])
    assert (issue.node, issue.field, issue.message) == ("a", "edges[1]", "duplicate edge 'a' -> 'b' (also edges[0])")


def test_edges_on_different_branches_are_not_duplicates():
    nodes = [node("check", "test.condition", {"expr": "true"}), node("b")]
    assert issues_of(nodes, [edge("check", "b", "true"), edge("check", "b", "false")]) == []


def test_when_naming_an_unknown_branch_lists_the_valid_ones():
    issue = only_issue([node("check", "test.condition", {"expr": "true"}), node("b")], [edge("check", "b", "maybe")])
    assert (issue.node, issue.field) == ("check", "edges[0].when")
    assert issue.message == "'maybe' is not a branch of test.condition; valid branches: 'true', 'false'"


def test_when_on_a_type_without_branches_is_reported():
    issue = only_issue([node("a"), node("b")], [edge("a", "b", "true")])
    assert (issue.node, issue.field) == ("a", "edges[0].when")
    assert issue.message == "'a' (test.note) has no branches, so its edges can't have a 'when'"


def test_for_each_on_a_type_with_branches_is_reported():
    issue = only_issue([node("check", "test.condition", {"expr": "item"}, for_each="{{ input.xs }}")])
    assert (issue.node, issue.field) == ("check", "for_each")
    assert issue.message == "for_each is not allowed on test.condition, a node type with branches"


# --- config ----------------------------------------------------------------------------------


def test_missing_required_config_field_is_reported():
    issue = only_issue([node("fetch", "test.fetch", {})])
    assert (issue.node, issue.field, issue.message) == ("fetch", "config.url", "field required")


def test_unknown_config_field_is_reported_when_the_model_forbids_extras():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "verb": "GET"})])
    assert (issue.field, issue.message) == ("config.verb", "extra inputs are not permitted")


def test_unknown_config_field_is_accepted_when_the_model_allows_extras():
    assert issues_of([node("n", "test.note", {"text": "hi", "colour": "blue"})]) == []


def test_wrong_literal_is_reported():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "method": "PUT"})])
    assert (issue.field, issue.message) == ("config.method", "input should be 'GET' or 'POST'")


def test_wrong_type_is_reported():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "count": "many"})])
    assert issue.field == "config.count"
    assert issue.message.startswith("input should be a valid integer")


def test_nested_config_error_names_the_path():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "tags": ["ok", 3]})])
    assert issue.field == "config.tags[1]"


def test_template_in_a_typed_field_is_accepted():
    assert issues_of([node("fetch", "test.fetch", {"url": "u", "count": "{{ input.n }}"})]) == []


def test_template_in_a_literal_field_is_accepted():
    assert issues_of([node("fetch", "test.fetch", {"url": "u", "method": "{{ input.method }}"})]) == []


def test_template_for_a_whole_list_is_accepted():
    assert issues_of([node("fetch", "test.fetch", {"url": "u", "tags": "{{ input.tags }}"})]) == []


def test_unknown_config_field_holding_a_template_is_still_reported():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "verb": "{{ input.verb }}"})])
    assert (issue.field, issue.message) == ("config.verb", "extra inputs are not permitted")


# --- templates -------------------------------------------------------------------------------


def test_template_that_does_not_parse_is_reported():
    issue = only_issue([node("fetch", "test.fetch", {"url": "https://x/{{ input.q | }}"})])
    assert (issue.node, issue.field) == ("fetch", "config.url")
    assert issue.message == "template does not parse: expected token 'name', got 'end of print statement'"


def test_template_deep_in_config_is_checked():
    issue = only_issue([node("fetch", "test.fetch", {"url": "u", "headers": {"Authorization": "Bearer {{ x"}})])
    assert issue.field == "config.headers.Authorization"
    assert issue.message.startswith("template does not parse")


def test_template_in_a_list_item_is_checked():
    issue = only_issue([node("n", "test.note", {"text": "ok", "extra": [{"a": "fine"}, "{% if %}"]})])
    assert issue.field == "config.extra[1]"


def test_template_in_a_config_of_an_unknown_type_is_still_checked():
    issues = issues_of([node("a", "test.nope", {"text": "{{ oops( }}"})])
    assert [issue.field for issue in issues] == ["type", "config.text"]


def test_raw_field_is_checked_as_an_expression():
    issue = only_issue([node("check", "test.condition", {"expr": "input.n >"})])
    assert (issue.node, issue.field) == ("check", "config.expr")
    assert issue.message == "expression does not parse: unexpected 'end of template'"


def test_raw_field_is_not_checked_as_a_template():
    assert issues_of([node("check", "test.condition", {"expr": "input.n > 3 and input.kind == 'a'"})]) == []


def test_jmespath_raw_field_is_checked_as_jmespath():
    assert issues_of([node("q", "calc.query", {"expression": "orders[?total > `10`].id"})]) == []


def test_jmespath_raw_field_that_does_not_parse_is_reported():
    issue = only_issue([node("q", "calc.query", {"expression": "orders[?total > "})])
    assert (issue.node, issue.field) == ("q", "config.expression")
    assert issue.message.startswith("JMESPath expression does not parse")


def test_jmespath_in_a_template_expression_field_is_reported():
    issue = only_issue([node("check", "test.condition", {"expr": "input.orders[?total > `10`].id"})])
    assert (issue.node, issue.field) == ("check", "config.expr")
    assert issue.message.startswith("expression does not parse")


def test_raw_field_references_must_be_upstream():
    issue = only_issue([node("a"), node("check", "test.condition", {"expr": "nodes.a.output.ok"})])
    assert (issue.node, issue.field) == ("check", "config.expr")
    assert "'a' is not upstream of 'check'" in issue.message


def test_for_each_that_does_not_parse_is_reported():
    issue = only_issue([node("a", for_each="{{ input.items | }}")])
    assert (issue.node, issue.field) == ("a", "for_each")
    assert issue.message.startswith("template does not parse")


def test_for_each_must_be_a_template():
    issue = only_issue([node("a", for_each="input.items")])
    assert (issue.field, issue.message) == (
        "for_each",
        "for_each must be a template that yields a list, e.g. {{ input.items }}",
    )


def test_for_each_references_are_checked():
    issue = only_issue([node("a"), node("b", for_each="{{ nodes.a.output.items }}")])
    assert (issue.node, issue.field) == ("b", "for_each")


def test_reference_to_a_missing_node_is_reported():
    issue = only_issue([node("a", config={"text": "{{ nodes.ghost.output.x }}"})])
    assert (issue.node, issue.field, issue.message) == (
        "a",
        "config.text",
        "reads nodes.ghost, but there is no node 'ghost'",
    )


def test_reference_by_item_access_is_checked():
    issue = only_issue([node("a", config={"text": "{{ nodes['ghost'].output }}"})])
    assert issue.message == "reads nodes.ghost, but there is no node 'ghost'"


def test_reference_to_a_sibling_is_reported():
    issue = only_issue(
        [node("root"), node("left"), node("right", config={"text": "{{ nodes.left.output }}"})],
        [edge("root", "left"), edge("root", "right")],
    )
    assert (issue.node, issue.field) == ("right", "config.text")
    assert issue.message == (
        "reads nodes.left, but 'left' is not upstream of 'right' (add an edge path from 'left' to 'right')"
    )


def test_reference_to_a_downstream_node_is_reported():
    issue = only_issue([node("a", config={"text": "{{ nodes.b.output }}"}), node("b")], [edge("a", "b")])
    assert "'b' is not upstream of 'a'" in issue.message


def test_reference_to_its_own_output_is_reported():
    issue = only_issue([node("a", config={"text": "{{ nodes.a.output }}"})])
    assert issue.message == "reads nodes.a, its own output, which does not exist yet"


def test_reference_to_an_ancestor_through_a_path_is_accepted():
    nodes = [node("a"), node("b"), node("c", config={"text": "{{ nodes.a.output }}"})]
    assert issues_of(nodes, [edge("a", "b"), edge("b", "c")]) == []


def test_reference_through_a_branch_is_accepted():
    nodes = [
        node("check", "test.condition", {"expr": "input.ok"}),
        node("yes", config={"text": "{{ nodes.check.output.result }}"}),
    ]
    assert issues_of(nodes, [edge("check", "yes", "true")]) == []


# --- all at once, fast -----------------------------------------------------------------------


def test_every_problem_is_reported_at_once():
    issues = issues_of(
        [
            node("fetch", "test.fetch", {"count": "lots", "url": "{{ nodes.late.output }}"}),
            node("fetch", "test.note"),
            node("check", "test.condition", {"expr": "=="}, for_each="{{ input.xs }}"),
            node("late", "test.nope"),
        ],
        [edge("fetch", "check"), edge("check", "late", "maybe"), edge("late", "ghost"), edge("late", "late")],
    )
    assert {(issue.node, issue.field) for issue in issues} == {
        ("fetch", "nodes[1].id"),
        ("check", "edges[1].when"),
        ("late", "edges[2].to"),
        ("late", "edges[3]"),
        ("fetch", "config.count"),
        ("fetch", "config.url"),
        ("check", "for_each"),
        ("check", "config.expr"),
        ("late", "type"),
    }


def test_validating_a_large_workflow_is_fast():
    nodes = [node("n0", "test.fetch", {"url": "https://x/{{ input.q }}"})]
    nodes += [
        node(
            f"n{i}",
            "test.fetch",
            {"url": f"https://x/{{{{ nodes.n{i - 1}.output.id }}}}/{i}", "count": "{{ input.n }}"},
        )
        for i in range(1, 300)
    ]
    edges = [edge(f"n{i - 1}", f"n{i}") for i in range(1, 300)]
    validate_definition({"nodes": nodes, "edges": edges}, REGISTRY)
    started = time.perf_counter()
    _, issues = validate_definition({"nodes": nodes, "edges": edges}, REGISTRY)
    assert issues == []
    assert time.perf_counter() - started < 0.5
