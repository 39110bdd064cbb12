"""`http.request`: call an HTTP API through the egress guard.

The config lives in `http_config`, credentials and redirects in `http_auth`, and reading the
response in `http_response`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied
from shared.nodes.http_auth import Secrets, authenticate, send
from shared.nodes.http_config import HttpRequestConfig
from shared.nodes.http_response import check_status, decode_body, read_capped, shown_url
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

__all__ = ["NODE_TYPES", "HttpRequestConfig", "run_http_request"]


async def run_http_request(ctx: NodeContext, config: HttpRequestConfig) -> dict[str, Any]:
    """Send an HTTP request and return the response's status, headers, body and final URL.

    Redirects are followed. A JSON response body is parsed; other text comes back as a string, and
    binary content as base64 with `body_base64` set. An error status (400 and above) fails the step
    unless `raise_for_status` is off; 408, 429 and 5xx responses, timeouts and connection failures
    are retried when the node has retries. Loopback, private and cloud-metadata addresses are refused.
    """
    settings = ctx.settings
    request, secrets, timeout = await _build_request(ctx, config)
    shown = shown_url(request.url)
    try:
        async with asyncio.timeout(timeout):
            response = await send(ctx.http, request, settings.http_max_redirects, secrets)
            try:
                await check_status(response, config)
                data = await read_capped(response, settings.http_max_response_bytes, config.method)
            finally:
                await response.aclose()
    except EgressDenied as exc:
        raise NodeError(str(exc), retryable=False) from exc
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(f"{config.method} {shown} timed out after {timeout:g}s", retryable=True) from None
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.DecodingError, httpx.InvalidURL) as exc:
        raise NodeError(f"{config.method} {shown} failed: {exc}", retryable=False) from exc
    except httpx.TransportError as exc:
        raise NodeError(f"{config.method} {shown} failed: {type(exc).__name__}: {exc}", retryable=True) from exc
    final_url = response.url.copy_remove_param(secrets.param) if secrets.param else response.url
    ctx.log.info(f"{config.method} {shown} -> {response.status_code}", status=response.status_code)
    return {
        "status": response.status_code,
        "headers": dict(response.headers.items()),
        "url": str(final_url),
        **decode_body(response, data),
    }


async def _build_request(ctx: NodeContext, config: HttpRequestConfig) -> tuple[httpx.Request, Secrets, float]:
    """The request to send, where its credential went, and its time limit (capped by the server's)."""
    settings = ctx.settings
    headers = httpx.Headers(config.headers)
    params: dict[str, Any] = dict(config.query)
    secrets = await authenticate(ctx, config.credential, headers, params) if config.credential else Secrets()
    if config.send_idempotency_key:
        headers["Idempotency-Key"] = ctx.idempotency_key
    content: dict[str, Any] = {}
    if "json_body" in config.model_fields_set:
        content["json"] = config.json_body
    elif config.body is not None:
        content["content"] = config.body.encode()
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    timeout = min(config.timeout_s or settings.http_timeout_s, settings.http_timeout_s)
    url = httpx.URL(config.url).copy_merge_params(params) if params else httpx.URL(config.url)
    request = ctx.http.build_request(config.method, url, headers=headers, timeout=timeout, **content)
    return request, secrets, timeout


NODE_TYPES = (
    NodeType(
        name="http.request",
        config_model=HttpRequestConfig,
        run=run_http_request,
        cost=1,
        lane="light",
        side_effects=True,
    ),
)
