"""The credential types and the values each one holds. Values are validated on the way in, so a
node never meets a credential with a missing or misspelt field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,127}$")
"""Credential names: what a Secrets Manager name segment accepts, at most 128 characters."""

Secret = Field(min_length=1, max_length=4096)


class _Values(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class BearerValues(_Values):
    token: str = Secret


class BasicValues(_Values):
    username: str = Field(min_length=1, max_length=512)
    password: str = Secret


class HeaderValues(_Values):
    name: str = Field(min_length=1, max_length=256, description="the header's name, e.g. X-API-Key")
    value: str = Secret


class QueryValues(_Values):
    name: str = Field(min_length=1, max_length=256, description="the query parameter's name, e.g. api_key")
    value: str = Secret


class SmtpValues(_Values):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    username: str = Field(min_length=1, max_length=512)
    password: str = Secret
    security: Literal["starttls", "ssl", "none"] = "starttls"
    from_address: str | None = Field(
        default=None, max_length=320, description="the sender email.send uses when its config names none"
    )


class ApiKeyValues(_Values):
    key: str = Secret


def _http_base_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/?#]+[^\s?#]*$", value):
        raise ValueError("must be an http:// or https:// URL without a query string")
    return value.rstrip("/") if value else value


class OpenAIValues(_Values):
    api_key: str = Secret
    base_url: str | None = Field(
        default=None,
        max_length=2048,
        description="an OpenAI-compatible API root, e.g. https://integrate.api.nvidia.com/v1; "
        "https://api.openai.com/v1 when unset",
    )
    organization: str | None = Field(default=None, max_length=256, description="sent as OpenAI-Organization")

    _check_base_url = field_validator("base_url")(_http_base_url)


class TwilioValues(_Values):
    account_sid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    auth_token: str = Secret
    base_url: str | None = Field(
        default=None, max_length=2048, description="the API root; https://api.twilio.com when unset"
    )

    _check_base_url = field_validator("base_url")(_http_base_url)


class SlackWebhookValues(_Values):
    url: str = Field(min_length=1, max_length=2048, description="the incoming webhook URL Slack gave you")

    @field_validator("url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        _http_base_url(value)
        return value


class HubspotValues(_Values):
    token: str = Field(min_length=1, max_length=4096, description="a private app's access token (pat-...)")
    base_url: str = Field(
        default="https://api.hubapi.com", max_length=2048, description="the API root; https://api.hubapi.com"
    )

    _check_base_url = field_validator("base_url")(_http_base_url)


class NotionValues(_Values):
    token: str = Field(min_length=1, max_length=4096, description="an internal integration secret (ntn_...)")
    base_url: str = Field(
        default="https://api.notion.com", max_length=2048, description="the API root; https://api.notion.com"
    )

    _check_base_url = field_validator("base_url")(_http_base_url)


class OdooValues(_Values):
    url: str = Field(min_length=1, max_length=2048, description="the Odoo server, e.g. https://mycompany.odoo.com")
    database: str = Field(min_length=1, max_length=256, description="the database name")
    username: str = Field(min_length=1, max_length=512, description="the login, usually an email")
    password: str = Field(min_length=1, max_length=4096, description="an API key (preferred) or the password")

    _check_url = field_validator("url")(_http_base_url)


class BrightdataValues(_Values):
    token: str = Field(min_length=1, max_length=4096, description="a Bright Data API key")
    base_url: str = Field(
        default="https://api.brightdata.com", max_length=2048, description="the API root; https://api.brightdata.com"
    )

    _check_base_url = field_validator("base_url")(_http_base_url)


class PostgresValues(_Values):
    host: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$",
        description="a hostname or IP address (no sockets, no lists)",
    )
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1, max_length=63)
    user: str = Field(min_length=1, max_length=63)
    password: str = Field(default="", max_length=4096)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="prefer", description="libpq's sslmode; use verify-full for servers on the internet"
    )


class BrowserCdpValues(_Values):
    ws_endpoint: str = Field(
        min_length=1,
        max_length=4096,
        pattern=r"^(wss?|https?)://\S+$",
        description="a remote browser's CDP endpoint, e.g. Bright Data Scraping Browser's "
        "wss://USER:PASS@brd.superproxy.io:9222",
    )


CREDENTIAL_TYPES: dict[str, type[_Values]] = {
    "bearer": BearerValues,
    "basic": BasicValues,
    "header": HeaderValues,
    "query": QueryValues,
    "smtp": SmtpValues,
    "api_key": ApiKeyValues,
    "openai": OpenAIValues,
    "twilio": TwilioValues,
    "slack_webhook": SlackWebhookValues,
    "hubspot": HubspotValues,
    "notion": NotionValues,
    "odoo": OdooValues,
    "brightdata": BrightdataValues,
    "postgres": PostgresValues,
    "browser_cdp": BrowserCdpValues,
}


GUEST_FORBIDDEN_TYPES = frozenset({"smtp", "twilio"})
"""Types a guest may not store: integrations that send email or SMS to anyone (and so cost money and
invite abuse from throwaway trials). Plain HTTP auth types stay open so guests can try API calls, and so
do openai (the guest's own key, billed to them) and slack_webhook (posts to one channel they own)."""

SIGNING_NAME_PREFIX = "webhook-signing."
"""Names of webhook signing secrets, kept in the owner's vault; hidden from and reserved in the
credentials routes."""


class CredentialInvalid(ValueError):
    """Values that don't fit their type; `problems` are (field, message) pairs, field like `values.token`."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise CredentialInvalid(
            [("name", "use 1-128 letters, digits or _.@+=- characters, starting with a letter or digit")]
        )
    return name


def validate_values(type_: str, values: Any) -> dict[str, Any]:
    """The values in their canonical form (defaults filled in), or `CredentialInvalid` naming each field."""
    model = CREDENTIAL_TYPES.get(type_)
    if model is None:
        known = ", ".join(CREDENTIAL_TYPES)
        raise CredentialInvalid([("type", f"unknown credential type {type_!r}; use one of: {known}")])
    if not isinstance(values, dict):
        raise CredentialInvalid([("values", "must be an object")])
    try:
        return model.model_validate(values).model_dump(exclude_none=True)  # unset optional fields stay out
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            problems.append((f"values.{where}" if where else "values", error["msg"]))
        raise CredentialInvalid(problems) from None


@dataclass(frozen=True)
class StoredValues:
    """What a backend hands back for the row: a reference to an external secret, or ciphertext."""

    secret_ref: str | None
    ciphertext: bytes | None
