"""`data.transform` (JMESPath) and `data.map` (named fields, dotted nesting)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes import default_registry
from shared.nodes.data import MapConfig

SCOPE = {
    "input": {"min": 10},
    "nodes": {"fetch": {"output": {"body": {"items": [{"name": "a", "price": 5}, {"name": "b", "price": 20}]}}}},
    "execution": {"id": "e-1"},
}


async def test_transform_reads_the_template_scope_by_default(run_node) -> None:
    output = await run_node(
        "data.transform", {"expression": "nodes.fetch.output.body.items[?price > `10`].name"}, scope=SCOPE
    )

    assert output == {"result": ["b"]}


async def test_transform_queries_given_data(run_node) -> None:
    output = await run_node(
        "data.transform", {"expression": "[*].{id: id, total: sum(lines)}", "data": [{"id": 1, "lines": [2, 3]}]}
    )

    assert output == {"result": [{"id": 1, "total": 5}]}


async def test_transform_of_explicit_null_data_is_null(run_node) -> None:
    output = await run_node("data.transform", {"expression": "input", "data": None}, scope=SCOPE)

    assert output == {"result": None}


async def test_transform_path_that_matches_nothing_gives_null(run_node) -> None:
    assert await run_node("data.transform", {"expression": "nodes.nope.output"}, scope=SCOPE) == {"result": None}


async def test_invalid_jmespath_names_the_expression(run_node) -> None:
    with pytest.raises(NodeError, match=r"invalid JMESPath expression 'items\[\?'") as failed:
        await run_node("data.transform", {"expression": "items[?"}, scope=SCOPE)

    assert not failed.value.retryable


async def test_jmespath_type_error_names_the_expression(run_node) -> None:
    with pytest.raises(NodeError, match=r"JMESPath expression 'sum\(input\)' failed") as failed:
        await run_node("data.transform", {"expression": "sum(input)"}, scope=SCOPE)

    assert not failed.value.retryable


def test_transform_keeps_expression_raw() -> None:
    assert default_registry().get("data.transform").raw_fields == {"expression": "jmespath"}


async def test_map_builds_nested_objects_from_dotted_targets(run_node) -> None:
    output = await run_node(
        "data.map",
        {
            "fields": {
                "customer.email": "ann@example.com",
                "customer.address.city": "Lyon",
                "customer.name": "Ann",
                "source": "web",
                "items": [1, 2],
            }
        },
    )

    assert output == {
        "customer": {"email": "ann@example.com", "address": {"city": "Lyon"}, "name": "Ann"},
        "source": "web",
        "items": [1, 2],
    }


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"customer": "x", "customer.email": "y"}, "inside 'customer'"),
        ({"a..b": 1}, "empty name segment"),
        ({".a": 1}, "empty name segment"),
    ],
)
def test_map_rejects_conflicting_or_empty_targets(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        MapConfig.model_validate({"fields": fields})
