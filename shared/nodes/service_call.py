"""Calling a SaaS API (OpenAI, Twilio, Slack) through the egress-guarded client, with failures mapped
the same way for every integration: 4xx (except 408 and 429) fail for good with the service's own
message; 408, 429, 5xx, timeouts and connection failures are retryable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied
from shared.nodes.http_response import RETRYABLE_STATUSES, read_capped, shown_url

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

MAX_REPLY_BYTES = 4 * 1024 * 1024
MESSAGE_CHARS = 500


@dataclass
class ServiceReply:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def text(self) -> str:
        return " ".join(self.body.decode("utf-8", "replace").split())


class ServiceError(NodeError):
    """A failed call; `status` is None when no response came, `retry_after_s` what the service asked for."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.retry_after_s = retry_after_s


ErrorReader = Callable[[ServiceReply], str | None]
"""Pulls the service's own error message out of an error reply (None: use the raw body)."""


async def call_service(
    ctx: NodeContext,
    request: httpx.Request,
    *,
    service: str,
    timeout_s: float,
    read_error: ErrorReader,
    max_bytes: int = MAX_REPLY_BYTES,
    secret_url: bool = False,
) -> ServiceReply:
    """Send `request` with `ctx.http` (no redirects: an API that redirects is misconfigured) and return
    a 2xx/3xx reply, or raise `ServiceError` naming `service`. With `secret_url` (a webhook URL that is
    itself the secret) messages name only the host."""
    shown = request.url.host if secret_url else shown_url(request.url)
    where = f"{service} ({request.method} {shown})"
    try:
        async with asyncio.timeout(timeout_s):
            response = await ctx.http.send(request, stream=True, follow_redirects=False)
            try:
                body = await read_capped(response, max_bytes, request.method)
            finally:
                await response.aclose()
    except EgressDenied as exc:
        raise ServiceError(f"{service}: {exc}", retryable=False) from exc
    except (TimeoutError, httpx.TimeoutException):
        raise ServiceError(f"{where} timed out after {timeout_s:g}s", retryable=True) from None
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        raise ServiceError(f"{where} failed: {exc}", retryable=False) from exc
    except httpx.TransportError as exc:
        raise ServiceError(f"{where} failed: {type(exc).__name__}: {exc}", retryable=True) from exc
    except NodeError as exc:
        raise ServiceError(f"{service}: {exc.message}", retryable=False) from exc
    reply = ServiceReply(response.status_code, response.headers, body)
    if reply.status >= 400:
        raise _error_for(reply, where, read_error)
    return reply


def _error_for(reply: ServiceReply, where: str, read_error: ErrorReader) -> ServiceError:
    status = reply.status
    detail = read_error(reply) or reply.text()
    if len(detail) > MESSAGE_CHARS:
        detail = detail[: MESSAGE_CHARS - 1] + "…"
    retry_after = parse_retry_after(reply.headers.get("retry-after"))
    message = f"{where} answered HTTP {status}"
    if retry_after is not None:
        message += f" (Retry-After: {retry_after:g}s)"
    if detail:
        message += f": {detail}"
    retryable = status in RETRYABLE_STATUSES or status >= 500
    return ServiceError(message, retryable=retryable, status=status, retry_after_s=retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None when absent or an HTTP date (rare for APIs)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if seconds == seconds else None


async def credential_of(ctx: NodeContext, name: str, expected_type: str, node_type: str) -> dict[str, Any]:
    """The named credential's values; a clear error when it is missing or of another type."""
    try:
        values = await ctx.credential(name)
    except LookupError:
        raise NodeError(f"credential {name!r} does not exist", retryable=False) from None
    if values.get("type") != expected_type:
        raise NodeError(
            f"credential {name!r} has type {values.get('type')!r}; {node_type} needs a {expected_type!r} credential",
            retryable=False,
        )
    return values
