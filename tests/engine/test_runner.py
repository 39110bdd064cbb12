"""The runner on a real database: order, concurrency, the join rule, failure, persistence."""

from __future__ import annotations

from tests.engine.rows import event_rows, execution_row, step_rows


def node(node_id: str, type_: str = "test.echo", **config) -> dict:
    return {"id": node_id, "type": type_, "config": config}


def edge(source: str, target: str, when: str | None = None) -> dict:
    return {"from": source, "to": target, **({"when": when} if when else {})}


async def test_nodes_run_in_dependency_order(harness, tracker):
    definition = {
        "nodes": [node("c"), node("a"), node("b")],
        "edges": [edge("a", "b"), edge("b", "c")],
    }

    outcome = await harness.run(definition)

    assert outcome.status == "succeeded"
    assert tracker.calls == ["a", "b", "c"]


async def test_independent_branches_run_concurrently(harness, tracker):
    definition = {
        "nodes": [node("start"), node("left", "test.sleep", seconds=0.2), node("right", "test.sleep", seconds=0.2)],
        "edges": [edge("start", "left"), edge("start", "right")],
    }

    outcome = await harness.run(definition)

    assert outcome.status == "succeeded"
    assert tracker.max_in_flight == 2


async def test_concurrency_is_bounded_by_the_definition(harness, tracker):
    sleepers = [node(f"s{i}", "test.sleep", seconds=0.05) for i in range(6)]
    definition = {"nodes": sleepers, "edges": [], "max_concurrency": 2}

    outcome = await harness.run(definition)

    assert outcome.status == "succeeded"
    assert tracker.max_in_flight == 2


async def test_outputs_flow_into_later_templates_keeping_their_type(harness):
    definition = {
        "nodes": [node("a", count=3, name="{{ input.name }}"), node("b", total="{{ nodes.a.output.count }}")],
        "edges": [edge("a", "b")],
    }

    outcome = await harness.run(definition, {"name": "Ada"})

    assert outcome.steps["a"].output == {"count": 3, "name": "Ada"}
    assert outcome.steps["b"].output == {"total": 3}
    assert outcome.output == {"b": {"total": 3}}


async def test_untaken_branch_is_skipped_with_everything_only_it_reaches(harness, tracker):
    definition = {
        "nodes": [node("check", "test.branch", branch="true"), node("yes"), node("no"), node("after_no")],
        "edges": [edge("check", "yes", "true"), edge("check", "no", "false"), edge("no", "after_no")],
    }

    outcome = await harness.run(definition)

    assert outcome.status == "succeeded"
    assert {k: v.status for k, v in outcome.steps.items()} == {
        "check": "succeeded",
        "yes": "succeeded",
        "no": "skipped",
        "after_no": "skipped",
    }
    assert "no" not in tracker.calls and "after_no" not in tracker.calls
    assert step_rows(harness.engine, outcome.execution_id)["after_no"].status == "skipped"


async def test_join_runs_when_one_incoming_edge_is_taken(harness, tracker):
    definition = {
        "nodes": [node("check", "test.branch", branch="false"), node("yes"), node("no"), node("join")],
        "edges": [
            edge("check", "yes", "true"),
            edge("check", "no", "false"),
            edge("yes", "join"),
            edge("no", "join"),
        ],
    }

    outcome = await harness.run(definition)

    assert outcome.steps["yes"].status == "skipped"
    assert outcome.steps["join"].status == "succeeded"
    assert tracker.calls == ["check", "no", "join"]


async def test_join_is_skipped_when_every_incoming_edge_is_untaken(harness):
    definition = {
        "nodes": [node("check", "test.branch", branch="true"), node("a"), node("b"), node("join")],
        "edges": [edge("check", "a", "false"), edge("check", "b", "false"), edge("a", "join"), edge("b", "join")],
    }

    outcome = await harness.run(definition)

    assert [outcome.steps[n].status for n in ("a", "b", "join")] == ["skipped", "skipped", "skipped"]
    assert outcome.status == "succeeded"


async def test_a_failed_step_fails_the_execution_and_starts_nothing_after_it(harness, tracker):
    definition = {
        "nodes": [node("a", "test.flaky", failures=1, retryable=False), node("b")],
        "edges": [edge("a", "b")],
    }

    outcome = await harness.run(definition)

    row = execution_row(harness.engine, outcome.execution_id)
    assert row.status == "failed"
    assert row.error == "step 'a' failed: planned failure 1"
    assert "b" not in tracker.calls
    assert step_rows(harness.engine, outcome.execution_id)["a"].error == "planned failure 1"


async def test_each_finished_step_is_persisted_with_input_output_timing_and_credits(harness):
    definition = {"nodes": [node("a", greeting="hi {{ input.who }}")], "edges": []}

    outcome = await harness.run(definition, {"who": "there"})

    step = step_rows(harness.engine, outcome.execution_id)["a"]
    assert (step.status, step.attempt, step.credits) == ("succeeded", 1, 1)
    assert step.input == {"greeting": "hi there"}
    assert step.output == {"greeting": "hi there"}
    assert step.started_at <= step.finished_at
    row = execution_row(harness.engine, outcome.execution_id)
    assert (row.status, row.credits_used, row.output) == ("succeeded", 1, {"a": {"greeting": "hi there"}})
    assert row.finished_at is not None


async def test_credits_are_the_sum_of_the_costs_of_steps_that_ran(harness):
    definition = {
        "nodes": [
            node("check", "test.branch", branch="true"),
            node("a"),
            node("s", "test.sleep", seconds=0),
            node("x"),
        ],
        "edges": [edge("check", "a", "true"), edge("check", "s", "true"), edge("check", "x", "false")],
    }

    outcome = await harness.run(definition)

    assert outcome.credits_used == 0 + 1 + 2
    assert execution_row(harness.engine, outcome.execution_id).credits_used == 3


async def test_event_seq_is_gap_free_and_ordered(harness):
    definition = {
        "nodes": [
            node("check", "test.branch", branch="true"),
            node("retry", "test.flaky", failures=2),
            node("skip"),
        ],
        "edges": [edge("check", "retry", "true"), edge("check", "skip", "false")],
    }
    definition["nodes"][1]["retry"] = {"max_attempts": 3, "backoff_s": 0.001}

    outcome = await harness.run(definition)

    events = event_rows(harness.engine, outcome.execution_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("log") == 3  # two retry warnings and the node's own log line
    assert "step_skipped" in types


async def test_listeners_receive_every_event_in_order(harness):
    seen = []
    definition = {"nodes": [node("a"), node("b")], "edges": [edge("a", "b")]}

    outcome = await harness.run(definition, listeners=[lambda execution_id, event: seen.append(event)])

    assert [e.seq for e in seen] == [e.seq for e in event_rows(harness.engine, outcome.execution_id)]
    assert [e.type for e in seen] == [
        "run_started",
        "step_started",
        "step_succeeded",
        "step_started",
        "step_succeeded",
        "run_finished",
    ]


async def test_a_definition_that_no_longer_validates_fails_the_run_with_the_reason(harness):
    outcome = await harness.run({"nodes": [node("a", "test.removed")], "edges": []})

    assert outcome.status == "failed"
    assert "unknown node type" in outcome.error.lower()
    assert execution_row(harness.engine, outcome.execution_id).status == "failed"


async def test_config_invalid_after_templating_fails_without_retry(harness, tracker):
    definition = {
        "nodes": [
            {"id": "s", "type": "test.sleep", "config": {"seconds": "{{ input.wait }}"}, "retry": {"max_attempts": 3}}
        ],
        "edges": [],
    }

    outcome = await harness.run(definition, {"wait": "soon"})

    assert outcome.status == "failed"
    assert "seconds" in outcome.steps["s"].error
    assert tracker.count("s") == 0
