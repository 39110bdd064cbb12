"""A workflow's failure alerts (`notify_on_failure`): where to say that a run failed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.vault.types import NAME_PATTERN


class FailureAlerts(BaseModel):
    """Sent once when an execution of the workflow fails. An empty object turns alerts off."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(
        default=None, max_length=320, description="An address to email (not for guest accounts).", examples=["a@b.com"]
    )
    webhook_url: str | None = Field(
        default=None,
        max_length=2048,
        description="An http(s) URL that gets a JSON POST describing the failure.",
        examples=["https://hooks.example.com/flow-failed"],
    )
    smtp_credential: str | None = Field(
        default=None,
        max_length=128,
        description="Name of your `smtp` credential that sends the email; the platform's mail server when unset.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        from shared.nodes.email import check_address

        if value is None:
            return value
        check_address(value)
        if "<" in value:
            raise ValueError("give a plain address such as ops@example.com")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            url = urlsplit(value)
            url.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.hostname or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("smtp_credential")
    @classmethod
    def _credential_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.match(value):
            raise ValueError("is not a credential name")
        return value

    @model_validator(mode="after")
    def _credential_needs_email(self) -> FailureAlerts:
        if self.smtp_credential and not self.email:
            raise ValueError("smtp_credential is only used with email")
        return self

    def stored(self) -> dict[str, Any] | None:
        """What the workflow row keeps: the fields that are set, or None (alerts off)."""
        values = self.model_dump(exclude_none=True)
        return values or None
