"""The AWS Secrets Manager backend: one secret per credential, named `<prefix>/<owner_id>/<name>`.

boto3 is imported when the first client is made, never at module import (the domain runs without
it). Reads are cached for a short max age, so a busy worker does not call Secrets Manager (and pay
for it) on every step; writes and deletes made through this backend drop the cached copy at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared.vault.types import StoredValues


class SecretsManagerError(Exception):
    """Secrets Manager refused or failed a call; the message names the secret, never its value."""


class TTLCache:
    """A small thread-safe cache whose entries expire `max_age_s` after they were stored."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 1024) -> None:
        self.max_age_s, self._clock, self._max_entries = max_age_s, clock, max_entries
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, value: Any) -> None:
        if self.max_age_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                now = self._clock()
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self._max_entries:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (self._clock() + self.max_age_s, value)

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class SecretsManagerBackend:
    name = "secretsmanager"

    def __init__(
        self,
        prefix: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        cache_max_age_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.prefix = prefix.strip("/")
        self.region, self.endpoint_url = region, endpoint_url
        self.cache = TTLCache(cache_max_age_s, clock)
        self._client_factory = client_factory or self._boto3_client
        self._client: Any = None
        self._lock = threading.Lock()
        self.calls = 0
        """Reads that went to Secrets Manager (cache misses)."""

    def secret_name(self, owner_id: uuid.UUID, name: str) -> str:
        return f"{self.prefix}/{owner_id}/{name}"

    @property
    def client(self) -> Any:
        """One client per backend, made on first use (boto3 clients are thread-safe)."""
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _boto3_client(self) -> Any:
        import boto3

        return boto3.session.Session().client("secretsmanager", region_name=self.region, endpoint_url=self.endpoint_url)

    def put(self, owner_id: uuid.UUID, name: str, values: dict[str, Any], secret_ref: str | None) -> StoredValues:
        """Create the secret (or store a new version of it); the row keeps its ARN."""
        payload = json.dumps(values, separators=(",", ":"))
        secret_name = self.secret_name(owner_id, name)
        try:
            if secret_ref is None:
                secret_ref = self._create(secret_name, payload)
            else:
                self.client.put_secret_value(SecretId=secret_ref, SecretString=payload)
        except Exception as exc:
            raise SecretsManagerError(f"could not store secret {secret_name}: {_reason(exc)}") from None
        finally:
            if secret_ref is not None:
                self.cache.drop(secret_ref)
        return StoredValues(secret_ref=secret_ref, ciphertext=None)

    def _create(self, secret_name: str, payload: str) -> str:
        client = self.client
        try:
            return client.create_secret(Name=secret_name, SecretString=payload)["ARN"]
        except client.exceptions.ResourceExistsException:
            # Left behind by a create whose row was never committed: the name is this row's, reuse it.
            arn = client.describe_secret(SecretId=secret_name)["ARN"]
            client.put_secret_value(SecretId=arn, SecretString=payload)
            return arn

    def read(self, owner_id: uuid.UUID, name: str, secret_ref: str | None, ciphertext: bytes | None) -> dict[str, Any]:
        secret_id = secret_ref or self.secret_name(owner_id, name)
        cached = self.cache.get(secret_id)
        if cached is not None:
            return dict(cached)
        try:
            self.calls += 1
            payload = self.client.get_secret_value(SecretId=secret_id)["SecretString"]
        except Exception as exc:
            raise SecretsManagerError(f"could not read secret {secret_id}: {_reason(exc)}") from None
        values = json.loads(payload)
        self.cache.put(secret_id, values)
        return dict(values)

    def remove(self, secret_ref: str | None) -> None:
        """Delete the secret now (no recovery window: the credential row is gone too)."""
        if secret_ref is None:
            return
        self.cache.drop(secret_ref)
        client = self.client
        try:
            client.delete_secret(SecretId=secret_ref, ForceDeleteWithoutRecovery=True)
        except client.exceptions.ResourceNotFoundException:
            return
        except Exception as exc:
            raise SecretsManagerError(f"could not delete secret {secret_ref}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """The AWS error code and message (they never carry a secret's value), or the exception type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__


def read_master_key(secret_id: str, *, region: str | None = None, endpoint_url: str | None = None) -> bytes:
    """The local backend's master key kept in Secrets Manager: the secret's binary value, or its
    string value as base64. Read once per process (the backend keeps it)."""
    import base64
    import binascii

    import boto3

    client = boto3.session.Session().client("secretsmanager", region_name=region, endpoint_url=endpoint_url)
    response = client.get_secret_value(SecretId=secret_id)
    if "SecretBinary" in response:
        return bytes(response["SecretBinary"])
    try:
        return base64.b64decode(response["SecretString"], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the secret {secret_id!r} is not a base64-encoded key") from None
