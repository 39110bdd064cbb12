"""Stored credentials for `http.request`: applying one to a request, and keeping it from other origins."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.engine.errors import NodeError
from shared.nodes.http_config import check_header
from shared.nodes.http_response import shown_url

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


@dataclass
class Secrets:
    """Where a credential went: a header to drop on a redirect to another origin, a query parameter to hide."""

    header: str | None = None
    param: str | None = None


async def authenticate(ctx: NodeContext, name: str, headers: httpx.Headers, params: dict[str, Any]) -> Secrets:
    try:
        values = await ctx.credential(name)
    except LookupError:
        raise NodeError(f"credential {name!r} does not exist", retryable=False) from None

    def value_of(key: str) -> str:
        if values.get(key) in (None, ""):
            raise NodeError(f"credential {name!r} of type {kind!r} has no {key!r}", retryable=False)
        text = str(values[key])
        if kind in ("bearer", "header"):
            try:
                check_header(key, text)
            except ValueError:
                message = f"credential {name!r}: {key!r} is not ASCII text on one line"
                raise NodeError(message, retryable=False) from None
        return text

    kind = values.get("type")
    if kind == "bearer":
        headers["Authorization"] = f"Bearer {value_of('token')}"
    elif kind == "basic":
        pair = f"{value_of('username')}:{values.get('password') or ''}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    elif kind == "header":
        headers[value_of("name")] = value_of("value")
        return Secrets(header=value_of("name"))
    elif kind == "query":
        params[value_of("name")] = value_of("value")
        return Secrets(param=value_of("name"))
    else:
        raise NodeError(
            f"credential {name!r} has type {kind!r}; http.request accepts bearer, basic, header or query",
            retryable=False,
        )
    return Secrets()


async def send(
    client: httpx.AsyncClient, request: httpx.Request, max_redirects: int, secrets: Secrets
) -> httpx.Response:
    """Follow redirects by hand so a credential header never goes to another origin (httpx only drops
    Authorization)."""
    origin = _origin(request.url)
    for _hop in range(max_redirects + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        if response.next_request is None:
            return response
        await response.aclose()
        request = response.next_request
        if secrets.header and _origin(request.url) != origin:
            del request.headers[secrets.header]
    raise NodeError(f"{shown_url(request.url)}: more than {max_redirects} redirects", retryable=False)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port
