"""`http.request`: call an HTTP API through the egress guard."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.engine.errors import NodeError
from shared.nodes.egress import ALLOWED_SCHEMES, EgressDenied
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
QueryValue = str | int | float | bool
RETRYABLE_STATUSES = frozenset({408, 429})
EXCERPT_CHARS = 300
BINARY_MEDIA_TYPES = frozenset({"application/octet-stream", "application/pdf", "application/zip", "application/gzip"})
BINARY_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/")


class HttpRequestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="http.request")

    method: Method = Field(default="GET", description="HTTP method.", examples=["GET", "POST"])
    url: str = Field(
        description="Absolute http:// or https:// URL; may already carry a query string.",
        examples=["https://api.example.com/items?q={{ input.q }}"],
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers.", examples=[{"Accept": "application/json"}]
    )
    query: dict[str, QueryValue | list[QueryValue]] = Field(
        default_factory=dict,
        description="Query parameters added to the URL's own (replacing any of the same name); a list repeats one.",
        examples=[{"page": 2, "tag": ["a", "b"]}],
    )
    json_body: Any = Field(
        default=None,
        alias="json",
        description="A value sent as a JSON body (sets Content-Type: application/json). Not with `body`.",
        examples=[{"name": "{{ input.name }}"}],
    )
    body: str | None = Field(
        default=None,
        description="A raw text body (Content-Type text/plain unless a header says otherwise). Not with `json`.",
        examples=["hello"],
    )
    credential: str | None = Field(
        default=None,
        description=(
            "Name of a stored credential used to authenticate: type bearer (token), basic (username, password), "
            "header (name, value) or query (name, value)."
        ),
        examples=["github-token"],
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit for the whole request; capped by the server's limit.", examples=[10]
    )
    raise_for_status: bool = Field(
        default=True, description="Fail the step when the response status is 400 or above.", examples=[False]
    )
    send_idempotency_key: bool = Field(
        default=False,
        description="Send an Idempotency-Key header that stays the same on every retry of this step.",
        examples=[True],
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in ALLOWED_SCHEMES:
            raise ValueError("url must start with http:// or https://")
        if not url.host:
            raise ValueError("url has no host")
        return value

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {name: _scalar_text(item) for name, item in value.items()}

    @field_validator("headers")
    @classmethod
    def _sendable_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, item in value.items():
            _check_header(name, item)
        return value

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestConfig:
        if "json_body" in self.model_fields_set and self.body is not None:
            raise ValueError("set either json or body, not both")
        return self


@dataclass
class _Secrets:
    header: str | None = None
    param: str | None = None


async def run_http_request(ctx: NodeContext, config: HttpRequestConfig) -> dict[str, Any]:
    """Send an HTTP request and return the response's status, headers, body and final URL.

    Redirects are followed. A JSON response body is parsed; other text comes back as a string, and
    binary content as base64 with `body_base64` set. An error status (400 and above) fails the step
    unless `raise_for_status` is off; 408, 429 and 5xx responses, timeouts and connection failures
    are retried when the node has retries. Loopback, private and cloud-metadata addresses are refused.
    """
    settings = ctx.settings
    headers = httpx.Headers(config.headers)
    params: dict[str, Any] = dict(config.query)
    secrets = await _authenticate(ctx, config.credential, headers, params) if config.credential else _Secrets()
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
    shown = _shown_url(request.url)
    try:
        async with asyncio.timeout(timeout):
            response = await _send(ctx.http, request, settings.http_max_redirects, secrets)
            try:
                await _check_status(response, config)
                data = await _read_capped(response, settings.http_max_response_bytes, config.method)
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
        **_decode_body(response, data),
    }


async def _authenticate(ctx: NodeContext, name: str, headers: httpx.Headers, params: dict[str, Any]) -> _Secrets:
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
                _check_header(key, text)
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
        return _Secrets(header=value_of("name"))
    elif kind == "query":
        params[value_of("name")] = value_of("value")
        return _Secrets(param=value_of("name"))
    else:
        raise NodeError(
            f"credential {name!r} has type {kind!r}; http.request accepts bearer, basic, header or query",
            retryable=False,
        )
    return _Secrets()


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, max_redirects: int, secrets: _Secrets
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
    raise NodeError(f"{_shown_url(request.url)}: more than {max_redirects} redirects", retryable=False)


async def _check_status(response: httpx.Response, config: HttpRequestConfig) -> None:
    status = response.status_code
    if status < 400 or not config.raise_for_status:
        return
    message = f"HTTP {status} {response.reason_phrase}".rstrip() + " from {config.method} {_shown_url(response.url)}"
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


async def _read_capped(response: httpx.Response, limit: int, method: str) -> bytes:
    too_large = NodeError(
        f"response from {_shown_url(response.url)} is larger than the {limit}-byte limit (http_max_response_bytes)",
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


def _decode_body(response: httpx.Response, data: bytes) -> dict[str, Any]:
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


def _check_header(name: str, value: str) -> None:
    if not name.isascii() or not name.isprintable() or not name or any(c in name for c in " :"):
        raise ValueError(f"header name {name!r} is not valid")
    if not value.isascii() or any(c in value for c in "\r\n\0"):
        raise ValueError(f"header {name!r} must be ASCII text on one line")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _shown_url(url: httpx.URL) -> str:
    """The URL for messages and logs: no query string or user info, which may hold secrets."""
    return str(url.copy_with(query=None, fragment=None, userinfo=b""))


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
