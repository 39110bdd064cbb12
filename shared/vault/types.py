"""The credential types and the values each one holds. Values are validated on the way in, so a
node never meets a credential with a missing or misspelt field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class ApiKeyValues(_Values):
    key: str = Secret


CREDENTIAL_TYPES: dict[str, type[_Values]] = {
    "bearer": BearerValues,
    "basic": BasicValues,
    "header": HeaderValues,
    "query": QueryValues,
    "smtp": SmtpValues,
    "api_key": ApiKeyValues,
}


GUEST_FORBIDDEN_TYPES = frozenset({"smtp"})
"""Types a guest may not store: integrations that send email (and so cost money and invite abuse
from throwaway trials). Plain HTTP auth types stay open so guests can try API calls."""

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
        return model.model_validate(values).model_dump()
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
