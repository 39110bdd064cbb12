"""`brightdata.fetch`: fetch a page through Bright Data's Web Unlocker (`POST /request`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.nodes.http_config import HttpRequestConfig
from shared.nodes.http_response import decode_body
from shared.nodes.json_api import credential_of, joined_url, post_json
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext
    from shared.nodes.service_call import ServiceReply

ERROR_HEADERS = ("x-brd-error", "x-luminati-error")
"""Where Bright Data puts its own error (a bad key, an unknown zone), as opposed to the target site's status."""


def _read_error(reply: ServiceReply) -> str | None:
    for name in ERROR_HEADERS:
        if text := reply.headers.get(name):
            return text
    return None


class FetchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="brightdata.fetch")

    credential: str = Field(description="Name of a stored brightdata credential (an API key).", examples=["brightdata"])
    zone: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The Web Unlocker zone's name, from the Bright Data control panel.",
        examples=["web_unlocker1"],
    )
    url: str = Field(description="The page to fetch: an http:// or https:// URL.", examples=["{{ input.url }}"])
    format: Literal["raw", "json"] = Field(
        default="raw",
        description="raw: the page itself in `body`; json: Bright Data's envelope (status_code, headers, body).",
        examples=["json"],
    )
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2}$",
        description="Fetch from this country (two-letter code); Bright Data chooses when unset.",
        examples=["us"],
    )
    data_format: Literal["markdown"] | None = Field(
        default=None,
        description="markdown: the page converted to Markdown (handy before an LLM).",
        examples=["markdown"],
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit of the request; capped by the server's limit.", examples=[60]
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return HttpRequestConfig._http_url(value)

    @field_validator("country")
    @classmethod
    def _lower_country(cls, value: str | None) -> str | None:
        return value.lower() if value else value


async def run_fetch(ctx: NodeContext, config: FetchConfig) -> dict[str, Any]:
    """Fetch a web page through Bright Data's Web Unlocker, which handles blocks, CAPTCHAs and
    fingerprinting; returns the status, content type and the page in `body`.

    The page is fetched from Bright Data's network, not this server's. An unknown zone or a bad key
    fails the step with Bright Data's message, and so does an error status of the page itself; rate
    limits, server errors and timeouts are retried when the node has retries. A fetch changes nothing,
    so no idempotency key is sent (the API takes none).
    """
    values = await credential_of(ctx, config.credential, "brightdata")
    body: dict[str, Any] = {"zone": config.zone, "url": config.url, "format": config.format}
    if config.country:
        body["country"] = config.country
    if config.data_format:
        body["data_format"] = config.data_format
    url = joined_url(values["base_url"], "/request")
    headers = {"Authorization": f"Bearer {values['token']}"}
    reply = await post_json(
        ctx, "Bright Data", url, body, read_error=_read_error, headers=headers, timeout_s=config.timeout_s
    )
    page = decode_body(httpx.Response(reply.status, headers=reply.headers, content=reply.body), reply.body)
    return {"status": reply.status, "content_type": reply.headers.get("content-type"), **page}


NODE_TYPES = (NodeType(name="brightdata.fetch", config_model=FetchConfig, run=run_fetch, cost=2),)
