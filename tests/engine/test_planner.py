"""The join rule as a pure function, and the plan's derived facts."""

from __future__ import annotations

import pytest

from shared.engine.definition import WorkflowDefinition
from shared.engine.planner import StepOutcome, build_plan


def plan_of(edges: list[dict], registry, nodes: list[str] | None = None):
    names = nodes or sorted({e["from"] for e in edges} | {e["to"] for e in edges})
    types = {"check": "test.branch"}
    definition = WorkflowDefinition.model_validate(
        {"nodes": [{"id": n, "type": types.get(n, "test.echo")} for n in names], "edges": edges}
    )
    return build_plan(definition, registry)


JOIN = [{"from": "check", "to": "a", "when": "true"}, {"from": "check", "to": "b", "when": "false"}]
JOIN += [{"from": "a", "to": "join"}, {"from": "b", "to": "join"}]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("succeeded", "skipped", "run"),
        ("skipped", "succeeded", "run"),
        ("succeeded", "succeeded", "run"),
        ("skipped", "skipped", "skip"),
        ("failed", "skipped", "blocked"),
        ("succeeded", "failed", "blocked"),
    ],
)
def test_join_rule(registry, a, b, expected):
    plan = plan_of(JOIN, registry)

    assert plan.decide("join", {"a": StepOutcome(a), "b": StepOutcome(b)}) == expected


@pytest.mark.parametrize(("branch", "a", "b"), [("true", "run", "skip"), ("false", "skip", "run")])
def test_an_edge_is_taken_only_when_its_when_matches_the_branch(registry, branch, a, b):
    plan = plan_of(JOIN, registry)
    outcomes = {"check": StepOutcome("succeeded", branch)}

    assert (plan.decide("a", outcomes), plan.decide("b", outcomes)) == (a, b)


def test_a_node_without_incoming_edges_runs(registry):
    assert plan_of([], registry, nodes=["solo"]).decide("solo", {}) == "run"


def test_sinks_are_nodes_without_outgoing_edges(registry):
    assert plan_of(JOIN, registry).sinks == ("join",)


def test_lane_is_light_unless_a_node_needs_a_browser(registry):
    assert plan_of(JOIN, registry).lane == "light"


def test_credit_estimate_sums_each_node_once(registry):
    assert plan_of(JOIN, registry).credit_estimate() == 0 + 1 + 1 + 1
