"""`notion.create_page` and `notion.query_database`: Notion's public API (version 2022-06-28)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.engine.errors import NodeError
from shared.nodes.json_api import credential_of, joined_url, json_object, post_json
from shared.nodes.registry import NodeType
from shared.nodes.service_call import ServiceError, ServiceReply

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

NOTION_VERSION = "2022-06-28"
RETRY_CONFLICT = 409
"""Notion answers 409 conflict_error when a write collided with another; its docs say to try again."""

NOTION_ID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
"""A page or database id: a UUID, with or without dashes, as in the page's URL."""
PAGE_SIZE_MAX = 100
QUERY_LIMIT_MAX = 10_000


class CreatePageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="notion.create_page")

    credential: str = Field(
        description="Name of a stored notion credential (an integration the parent is shared with).",
        examples=["notion-main"],
    )
    database_id: str | None = Field(
        default=None,
        pattern=NOTION_ID,
        description="Create the page as a row of this database (its id from the database's URL). Or page_id.",
        examples=["d9824bdc84454327be8b5b47500af6ce"],
    )
    page_id: str | None = Field(
        default=None,
        pattern=NOTION_ID,
        description="Create the page under this page instead of in a database.",
        examples=["b55c9c91384d452b81dbd1ef79372b75"],
    )
    title: str | None = Field(
        default=None,
        description="The page's title, as plain text; set into the `title_property` property.",
        examples=["Lead: {{ input.company }}"],
    )
    title_property: str = Field(
        default="title",
        min_length=1,
        description='The name of the title property: "title" under a page; in a database its title column, '
        'often "Name".',
        examples=["Name"],
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Property values in Notion's JSON shape, by property name (they must exist in the database).",
        examples=[{"Status": {"select": {"name": "New"}}, "Email": {"email": "{{ input.email }}"}}],
    )
    children: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=100,
        description="Content blocks in Notion's JSON shape (at most 100).",
        examples=[
            [{"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "Hello"}}]}}]
        ],
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit of the request; capped by the server's limit.", examples=[15]
    )

    @model_validator(mode="after")
    def _one_parent(self) -> CreatePageConfig:
        if (self.database_id is None) == (self.page_id is None):
            raise ValueError("set either database_id or page_id")
        return self


class QueryDatabaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="notion.query_database")

    credential: str = Field(description="Name of a stored notion credential.", examples=["notion-main"])
    database_id: str = Field(
        pattern=NOTION_ID,
        description="The database to query (its id from its URL).",
        examples=["d9824bdc84454327be8b5b47500af6ce"],
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        description="A Notion filter object; every row when unset.",
        examples=[{"property": "Status", "select": {"equals": "New"}}],
    )
    sorts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Notion sort objects, applied in order.",
        examples=[[{"timestamp": "created_time", "direction": "descending"}]],
    )
    limit: int = Field(
        default=100,
        ge=1,
        le=QUERY_LIMIT_MAX,
        description="At most this many rows are returned; more pages are fetched until it is reached.",
        examples=[500],
    )
    start_cursor: str | None = Field(
        default=None,
        description="Continue from a previous run's `next_cursor`.",
        examples=["{{ nodes.previous.output.next_cursor }}"],
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit of each page's request; capped by the server's.", examples=[15]
    )


async def run_create_page(ctx: NodeContext, config: CreatePageConfig) -> dict[str, Any]:
    """Create a Notion page in a database or under a page; returns the new page (its `id`, `url` and
    properties).

    The database or page must be shared with the integration. Notion takes no idempotency key, so a
    retry after a lost response can create a second page; give the step no retries where that matters.
    Validation errors fail with Notion's message; 409 conflicts, rate limits (429) and server errors are
    retried when the node has retries.
    """
    values = await credential_of(ctx, config.credential, "notion")
    parent = {"database_id": config.database_id} if config.database_id else {"page_id": config.page_id}
    properties = dict(config.properties)
    if config.title is not None:
        properties[config.title_property] = {"title": [{"type": "text", "text": {"content": config.title}}]}
    body: dict[str, Any] = {"parent": parent, "properties": properties}
    if config.children:
        body["children"] = config.children
    return await _notion(ctx, values, "/v1/pages", body, config.timeout_s)


async def run_query_database(ctx: NodeContext, config: QueryDatabaseConfig) -> dict[str, Any]:
    """Query a Notion database with an optional filter and sorts; returns the matching rows (page objects)
    in `results`, with `has_more` and `next_cursor` when there are more than `limit`.

    Pages of up to 100 rows are fetched one after another, following Notion's cursor, until `limit`
    rows are in hand or there are no more.
    """
    values = await credential_of(ctx, config.credential, "notion")
    path = f"/v1/databases/{config.database_id}/query"
    results: list[Any] = []
    cursor, has_more = config.start_cursor, True
    while has_more and len(results) < config.limit:
        body: dict[str, Any] = {"page_size": min(PAGE_SIZE_MAX, config.limit - len(results))}
        if config.filter is not None:
            body["filter"] = config.filter
        if config.sorts:
            body["sorts"] = config.sorts
        if cursor:
            body["start_cursor"] = cursor
        page = await _notion(ctx, values, path, body, config.timeout_s)
        results.extend(page.get("results", []))
        has_more, cursor = bool(page.get("has_more")), page.get("next_cursor")
        has_more = has_more and bool(cursor)
    return {
        "results": results,
        "count": len(results),
        "has_more": has_more,
        "next_cursor": cursor if has_more else None,
    }


async def _notion(
    ctx: NodeContext, values: dict[str, Any], path: str, body: dict[str, Any], timeout_s: float | None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {values['token']}", "Notion-Version": NOTION_VERSION}
    url = joined_url(values["base_url"], path)
    try:
        reply = await post_json(ctx, "Notion", url, body, read_error=_read_error, headers=headers, timeout_s=timeout_s)
    except ServiceError as exc:
        if exc.status == RETRY_CONFLICT:
            raise NodeError(exc.message, retryable=True) from exc
        raise
    return json_object(reply, "Notion", f"POST {path}")


def _read_error(reply: ServiceReply) -> str | None:
    """Notion errors: {"object": "error", "status", "code", "message"}."""
    body = reply.json()
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    return f"{body['message']} ({body['code']})" if isinstance(body.get("code"), str) else body["message"]


NODE_TYPES = (
    NodeType(name="notion.create_page", config_model=CreatePageConfig, run=run_create_page, cost=1, side_effects=True),
    NodeType(name="notion.query_database", config_model=QueryDatabaseConfig, run=run_query_database, cost=1),
)
