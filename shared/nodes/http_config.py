"""The config of `http.request`, and which header names and values can be sent."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.nodes.egress import ALLOWED_SCHEMES

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
QueryValue = str | int | float | bool


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
            check_header(name, item)
        return value

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestConfig:
        if "json_body" in self.model_fields_set and self.body is not None:
            raise ValueError("set either json or body, not both")
        return self


def check_header(name: str, value: str) -> None:
    """Raise ValueError unless `name: value` can go on the wire as one header line."""
    if not name.isascii() or not name.isprintable() or not name or any(c in name for c in " :"):
        raise ValueError(f"header name {name!r} is not valid")
    if not value.isascii() or any(c in value for c in "\r\n\0"):
        raise ValueError(f"header {name!r} must be ASCII text on one line")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
