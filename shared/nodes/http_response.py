"""Reading an `http.request` response: error statuses, the size cap, and the body as JSON, text or base64."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx

from shared.engine.errors import NodeError

if TYPE_CHECKING:
    from shared.nodes.http_config import HttpRequestConfig

RETRYABLE_STATUSES = frozenset({408, 429})
EXCERPT_CHARS = 300
BINARY_MEDIA_TYPES = frozenset({"application/octet-stream", "application/pdf", "application/zip", "application/gzip"})
BINARY_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/")


def shown_url(url: httpx.URL) -> str:
    """The URL for messages and logs: no query string or user info, which may hold secrets."""
    return str(url.copy_with(query=None, fragment=None, userinfo=b""))


async def check_status(response: httpx.Response, config: HttpRequestConfig) -> None:
    """Fail on a status of 400 and above (unless `raise_for_status` is off), retryably for 408, 429 and 5xx."""
    status = response.status_code
    if status < 400 or not config.raise_for_status:
        return
    message = f"HTTP {status} {response.reason_phrase}".rstrip() + f" from {config.method} {shown_url(response.url)}"
    if retry_after := response.headers.get("retry-after"):
        message += f" (Retry-After: {retry_after})"
    if excerpt := await _excerpt(response):
        message += f": {excerpt}"
    raise NodeError(message, retryable=status in RETRYABLE_STATUSES or status >= 500)


async def _excerpt(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= 4 * EXCERPT_CHARS:
            break
    text = " ".join(_text(response, bytes(data), errors="replace").split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


async def read_capped(response: httpx.Response, limit: int, method: str) -> bytes:
    too_large = NodeError(
        f"response from {shown_url(response.url)} is larger than the {limit}-byte limit (http_max_response_bytes)",
        retryable=False,
    )
    declared = response.headers.get("content-length", "")
    if method != "HEAD" and declared.isdigit() and int(declared) > limit:
        raise too_large
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)


def decode_body(response: httpx.Response, data: bytes) -> dict[str, Any]:
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        if not data.strip():
            return {"body": None, "body_base64": False}
        try:
            return {"body": json.loads(data, parse_constant=_reject_constant), "body_base64": False}
        except ValueError:
            pass  # not valid JSON after all: return it as text
    binary = media_type in BINARY_MEDIA_TYPES or media_type.startswith(BINARY_MEDIA_PREFIXES)
    if not binary or media_type.endswith("+xml"):
        try:
            text = _text(response, data)
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return {"body": text, "body_base64": False}
    return {"body": base64.b64encode(data).decode("ascii"), "body_base64": True}


def _text(response: httpx.Response, data: bytes, errors: str = "strict") -> str:
    """The body decoded with the declared charset, or UTF-8 when none (or an unknown one) is declared."""
    try:
        return data.decode(response.charset_encoding or "utf-8", errors)
    except LookupError:
        return data.decode("utf-8", errors)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
