"""`notion.create_page` and `notion.query_database` against a local server speaking Notion's API."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.notion import CreatePageConfig
from tests.support.http_server import Received, Reply

DATABASE = "d9824bdc84454327be8b5b47500af6ce"
PAGE = "b55c9c91-384d-452b-81db-d1ef79372b75"
QUERY = f"/v1/databases/{DATABASE}/query"


@pytest.fixture
def notion(server):
    return {"notion": {"type": "notion", "token": "ntn_secret", "base_url": server.url("/")}}


def notion_error(status: int, code: str, message: str) -> Reply:
    return Reply(status=status, body={"object": "error", "status": status, "code": code, "message": message})


async def test_creates_a_database_row_with_title_and_properties(server, run_node, notion) -> None:
    page = {"object": "page", "id": "59833787-2cf9-4fdf-8782-e53db20768a5", "url": "https://www.notion.so/Lead-5983"}
    server.route("/v1/pages", body=page)

    output = await run_node(
        "notion.create_page",
        {
            "credential": "notion",
            "database_id": DATABASE,
            "title": "Lead: ACME",
            "title_property": "Name",
            "properties": {"Status": {"select": {"name": "New"}}},
            "children": [{"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "Hi"}}]}}],
        },
        credentials=notion,
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", "/v1/pages")
    assert received.headers["authorization"] == "Bearer ntn_secret"
    assert received.headers["notion-version"] == "2022-06-28"
    assert received.json() == {
        "parent": {"database_id": DATABASE},
        "properties": {
            "Status": {"select": {"name": "New"}},
            "Name": {"title": [{"type": "text", "text": {"content": "Lead: ACME"}}]},
        },
        "children": [{"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "Hi"}}]}}],
    }
    assert output == page


async def test_creates_a_page_under_a_page(server, run_node, notion) -> None:
    server.route("/v1/pages", body={"object": "page", "id": "p"})

    await run_node(
        "notion.create_page", {"credential": "notion", "page_id": PAGE, "title": "Notes"}, credentials=notion
    )

    assert server.received[0].json() == {
        "parent": {"page_id": PAGE},
        "properties": {"title": {"title": [{"type": "text", "text": {"content": "Notes"}}]}},
    }


@pytest.mark.parametrize(
    "config",
    [
        {"credential": "n"},
        {"credential": "n", "database_id": DATABASE, "page_id": PAGE},
        {"credential": "n", "database_id": "../users"},
    ],
)
def test_create_page_needs_exactly_one_valid_parent(config) -> None:
    with pytest.raises(ValidationError):
        CreatePageConfig.model_validate(config)


async def test_validation_error_fails_for_good_with_notion_message(server, run_node, notion) -> None:
    server.route("/v1/pages", notion_error(400, "validation_error", "Status is not a property that exists."))

    with pytest.raises(NodeError, match=r"HTTP 400: Status is not a property that \S+ \(validation_error\)") as failed:
        await run_node("notion.create_page", {"credential": "notion", "database_id": DATABASE}, credentials=notion)

    assert not failed.value.retryable


async def test_unshared_database_fails_for_good(server, run_node, notion) -> None:
    message = f"Could not find database with ID: {DATABASE}. Make sure the relevant pages are shared."
    server.route(QUERY, notion_error(404, "object_not_found", message))

    with pytest.raises(NodeError, match="Could not find database") as failed:
        await run_node("notion.query_database", {"credential": "notion", "database_id": DATABASE}, credentials=notion)

    assert not failed.value.retryable


@pytest.mark.parametrize(
    ("status", "code"), [(409, "conflict_error"), (429, "rate_limited"), (502, "internal_server_error")]
)
async def test_conflicts_rate_limits_and_outages_are_retryable(server, run_node, notion, status, code) -> None:
    server.route("/v1/pages", notion_error(status, code, "try again"))

    with pytest.raises(NodeError, match="try again") as failed:
        await run_node("notion.create_page", {"credential": "notion", "page_id": PAGE}, credentials=notion)

    assert failed.value.retryable


def paged(rows: int, page_size_seen: list[int]):
    """A database of `rows` rows, answered in pages the way Notion does (cursor = index of the next row)."""

    def reply(received: Received) -> Reply:
        body = received.json()
        page_size_seen.append(body["page_size"])
        start = int(body.get("start_cursor", 0))
        end = min(rows, start + body["page_size"])
        more = end < rows
        return Reply(
            body={
                "object": "list",
                "results": [{"object": "page", "id": f"row-{i}"} for i in range(start, end)],
                "has_more": more,
                "next_cursor": str(end) if more else None,
            }
        )

    return reply


async def test_query_follows_the_cursor_up_to_the_limit(server, run_node, notion) -> None:
    sizes: list[int] = []
    server.route(QUERY, paged(250, sizes))

    output = await run_node(
        "notion.query_database",
        {
            "credential": "notion",
            "database_id": DATABASE,
            "filter": {"property": "Status", "select": {"equals": "New"}},
            "sorts": [{"timestamp": "created_time", "direction": "descending"}],
            "limit": 230,
        },
        credentials=notion,
    )

    assert sizes == [100, 100, 30]
    first, second, _third = (received.json() for received in server.received)
    assert first == {
        "page_size": 100,
        "filter": {"property": "Status", "select": {"equals": "New"}},
        "sorts": [{"timestamp": "created_time", "direction": "descending"}],
    }
    assert second["start_cursor"] == "100"
    assert all(r.headers["notion-version"] == "2022-06-28" for r in server.received)
    assert [row["id"] for row in output["results"]] == [f"row-{i}" for i in range(230)]
    assert (output["count"], output["has_more"], output["next_cursor"]) == (230, True, "230")


async def test_query_stops_when_the_database_has_no_more(server, run_node, notion) -> None:
    server.route(QUERY, paged(3, []))

    output = await run_node(
        "notion.query_database",
        {"credential": "notion", "database_id": DATABASE, "start_cursor": "1"},
        credentials=notion,
    )

    assert len(server.received) == 1
    assert server.received[0].json() == {"page_size": 100, "start_cursor": "1"}
    assert [row["id"] for row in output["results"]] == ["row-1", "row-2"]
    assert (output["has_more"], output["next_cursor"]) == (False, None)


async def test_non_object_answer_fails_clearly(server, run_node, notion) -> None:
    server.route(QUERY, body="<html>maintenance</html>")

    with pytest.raises(NodeError, match="other than a JSON object"):
        await run_node("notion.query_database", {"credential": "notion", "database_id": DATABASE}, credentials=notion)
