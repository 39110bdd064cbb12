"""Keeping credential values out of everything an execution stores or sends.

Every credential a node receives through `ctx` is registered with the execution's `Redactor`; the
recorder passes step inputs, outputs, errors and event payloads through it before they are written
or handed to listeners, so logs, events, step rows and execution rows show `***` instead. Besides
each value, the forms it takes on the wire are registered: URL-encoded (query strings) and base64
(Basic auth's `user:pass`). Until something is registered, redaction costs nothing.
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from shared.engine.context import CredentialProvider

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not redacted: masking every "a" or "123" would wreck outputs and hide nothing."""

PUBLIC_FIELDS: dict[str, frozenset[str]] = {
    "header": frozenset({"name"}),
    "query": frozenset({"name"}),
    "smtp": frozenset({"host", "port", "security", "from_address"}),
    "openai": frozenset({"base_url", "organization"}),
    "twilio": frozenset({"account_sid", "base_url"}),
    "hubspot": frozenset({"base_url"}),
    "notion": frozenset({"base_url"}),
    "brightdata": frozenset({"base_url"}),
    "odoo": frozenset({"url", "database"}),
    "postgres": frozenset({"host", "port", "database", "sslmode"}),
}
"""Fields that say where a secret goes, not what it is (a header's name, an SMTP host)."""


def wire_forms(value: str) -> set[str]:
    """The value and the encodings it is likely to appear in once sent."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value)}
    forms.add(base64.b64encode(value.encode()).decode("ascii"))
    return {form for form in forms if len(form) >= MIN_LENGTH}


class Redactor:
    """The secrets of one execution. Thread-safe to register into; cheap to call while empty."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def register(self, value: Any) -> None:
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return
        self._add(wire_forms(value))

    def register_credential(self, values: dict[str, Any]) -> None:
        """A credential as nodes get it: its `type` and public fields are left out; Basic auth's
        `username:password` pair is registered in base64 too."""
        public = PUBLIC_FIELDS.get(values.get("type"), frozenset()) | {"type"}
        forms: set[str] = set()
        for key, value in values.items():
            if key not in public and isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value)
                if len(text) >= MIN_LENGTH:
                    forms |= wire_forms(text)
        username, password = values.get("username"), values.get("password")
        if isinstance(username, str) and isinstance(password, str):
            forms.add(base64.b64encode(f"{username}:{password}".encode()).decode("ascii"))
        self._add(forms)

    def _add(self, forms: set[str]) -> None:
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= forms
            # Longest first, so a value's encoded form is not half-masked by a shorter secret inside it.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(secret) for secret in ordered))

    def text(self, value: str) -> str:
        pattern = self._pattern
        return value if pattern is None else pattern.sub(MASK, value)

    def __call__(self, value: Any) -> Any:
        """`value` with every registered secret masked: strings, and the keys and values of
        JSON-like dicts and lists, at any depth. Other values come back unchanged."""
        pattern = self._pattern
        if pattern is None:
            return value
        return _redact(value, pattern)

    def redact_outcome(self, outcome: Any) -> None:
        """Mask a `RunOutcome` in place (its output, error and steps), for callers that print it."""
        if self._pattern is None:
            return
        outcome.output, outcome.error = self(outcome.output), self(outcome.error)
        for step in outcome.steps.values():
            step.output, step.error = self(step.output), self(step.error)


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, dict):
        return {_redact(key, pattern): _redact(item, pattern) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, pattern) for item in value]
    return value


class RegisteringCredentials:
    """A `CredentialProvider` that registers every credential it hands out with a `Redactor`."""

    def __init__(self, provider: CredentialProvider, redactor: Redactor) -> None:
        self.provider = provider
        self.redactor = redactor

    async def get(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        values = await self.provider.get(owner_id, name)
        self.redactor.register_credential(values)
        return values
