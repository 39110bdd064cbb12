"""Credentials in and out. Values go in only: no response model has a field that could carry them.

Values are checked against their type by the vault (`shared.vault.types`), which names the field
at fault (`values.token`, `type`) without repeating what was sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Page
from api.schemas.workflows import Text
from shared.vault.types import CREDENTIAL_TYPES

TYPES = ", ".join(CREDENTIAL_TYPES)
VALUE_FIELDS = "; ".join(
    f"{name}: {{{', '.join(key + ('' if info.is_required() else '?') for key, info in model.model_fields.items())}}}"
    for name, model in CREDENTIAL_TYPES.items()
)
CredentialName = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@+=-]*$",
        description="Unique per owner; letters, digits and _.@+=- (nodes refer to it by this name)",
        examples=["github-token"],
    ),
]
CredentialType = Annotated[Text, Field(max_length=64, description=f"One of: {TYPES}", examples=["bearer"])]
Values = Annotated[
    dict[str, Any],
    Field(
        description=f"Write-only; by type (`?`: optional): {VALUE_FIELDS}",
        examples=[{"token": "ghp_example"}],
    ),
]


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CredentialName
    type: CredentialType
    values: Values


class CredentialUpdate(BaseModel):
    """Replaces every value; `type` stays as it was unless given."""

    model_config = ConfigDict(extra="forbid")

    values: Values
    type: CredentialType | None = None


class CredentialPublic(BaseModel):
    name: str
    type: str
    backend: str = Field(description="local (encrypted in the database) or secretsmanager")
    created_at: datetime
    updated_at: datetime


CredentialsPublic = Page[CredentialPublic]


class CredentialTypePublic(BaseModel):
    type: str
    values_schema: dict[str, Any] = Field(description="JSON Schema of the values this type holds")
    allowed: bool = Field(description="false when the caller may not store this type (a guest and a paid integration)")
