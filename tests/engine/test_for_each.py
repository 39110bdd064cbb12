"""`for_each`: a node runs once per item, bounded, and its output lists results in item order."""

from __future__ import annotations


def sleeper_for_each(items_template: str, **config) -> dict:
    return {
        "nodes": [
            {
                "id": "each",
                "type": "test.sleep",
                "for_each": items_template,
                "config": {"seconds": "{{ 0.08 - index * 0.02 }}", "value": "{{ item }}-{{ index }}", **config},
            }
        ]
    }


async def test_results_are_in_item_order_even_when_items_finish_out_of_order(harness):
    outcome = await harness.run(sleeper_for_each("{{ input.letters }}"), {"letters": ["a", "b", "c", "d"]})

    assert outcome.status == "succeeded"
    assert outcome.steps["each"].output == [{"value": f"{c}-{i}"} for i, c in enumerate("abcd")]


async def test_items_run_with_bounded_concurrency(harness, tracker):
    outcome = await harness.run(
        sleeper_for_each("{{ input.letters }}"), {"letters": list("abcdef")}, for_each_concurrency=2
    )

    assert outcome.status == "succeeded"
    assert tracker.count("each") == 6
    assert tracker.max_in_flight == 2


async def test_each_item_is_charged(harness):
    outcome = await harness.run(sleeper_for_each("{{ input.letters }}"), {"letters": list("abc")})

    assert outcome.credits_used == 3 * 2


async def test_an_empty_list_runs_nothing_and_outputs_an_empty_list(harness, tracker):
    outcome = await harness.run(sleeper_for_each("{{ input.letters }}"), {"letters": []})

    assert outcome.steps["each"].output == []
    assert tracker.calls == []


async def test_for_each_over_a_non_list_fails_clearly(harness):
    outcome = await harness.run(sleeper_for_each("{{ input.letters }}"), {"letters": 5})

    assert outcome.status == "failed"
    assert outcome.steps["each"].error == "for_each must yield a list, got int"


async def test_for_each_over_too_many_items_fails_clearly(harness):
    outcome = await harness.run(
        sleeper_for_each("{{ input.letters }}"), {"letters": list("abcd")}, for_each_max_items=3
    )

    assert outcome.steps["each"].error == "for_each yielded 4 items, more than the limit of 3"


async def test_a_failing_item_fails_the_step(harness):
    definition = {
        "nodes": [
            {
                "id": "each",
                "type": "test.flaky",
                "for_each": "{{ [1, 2] }}",
                "config": {"failures": 1, "retryable": False},
            }
        ]
    }

    outcome = await harness.run(definition)

    assert outcome.steps["each"].status == "failed"
