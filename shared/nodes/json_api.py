"""What the app nodes (HubSpot, Notion, Odoo, Bright Data, PostgreSQL) share on top of `service_call`:
their typed credential with its defaults, URLs under a credential's base URL, and one JSON call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from shared.engine.errors import NodeError
from shared.nodes import service_call
from shared.nodes.service_call import ErrorReader, ServiceReply, call_service
from shared.vault.types import CredentialInvalid, validate_values

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


async def credential_of(ctx: NodeContext, name: str, kind: str) -> dict[str, Any]:
    """The values of credential `name`, which must be of type `kind`, with the type's defaults filled
    in. Checked here too because credentials given to `flowbuilder run --credentials` skip the vault."""
    values = await service_call.credential_of(ctx, name, kind, ctx.node_type)
    try:
        return validate_values(kind, {key: value for key, value in values.items() if key != "type"})
    except CredentialInvalid as exc:
        raise NodeError(f"credential {name!r}: {exc}", retryable=False) from None


def joined_url(base_url: str, path: str) -> httpx.URL:
    """`path` under a credential's base URL, keeping any path prefix the base has (a proxy, a test server)."""
    return httpx.URL(base_url.rstrip("/") + "/" + path.lstrip("/"))


async def post_json(
    ctx: NodeContext,
    service: str,
    url: httpx.URL,
    body: Any,
    *,
    read_error: ErrorReader,
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> ServiceReply:
    """POST `body` as JSON; the reply of a 2xx/3xx answer, else the `ServiceError` of `call_service`.
    The time limit is the node's `timeout_s`, never above the server's `http_timeout_s`."""
    settings = ctx.settings
    timeout = min(timeout_s or settings.http_timeout_s, settings.http_timeout_s)
    request = ctx.http.build_request("POST", url, headers=headers, json=body, timeout=timeout)
    return await call_service(
        ctx,
        request,
        service=service,
        timeout_s=timeout,
        read_error=read_error,
        max_bytes=settings.http_max_response_bytes,
    )


def json_object(reply: ServiceReply, service: str, what: str) -> dict[str, Any]:
    """The reply's body, which must be a JSON object."""
    body = reply.json()
    if not isinstance(body, dict):
        raise NodeError(f"{service}: {what} answered with something other than a JSON object", retryable=False)
    return body
