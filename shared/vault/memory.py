"""Credentials held in memory: tests, and `flowbuilder run --credentials FILE` locally."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from shared.engine.errors import CredentialNotFound


class InMemoryCredentialProvider:
    """Credentials by name, the same for every owner unless given per owner."""

    def __init__(
        self,
        credentials: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        per_owner: Mapping[uuid.UUID, Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._shared = {name: dict(values) for name, values in (credentials or {}).items()}
        self._per_owner = {owner: dict(creds) for owner, creds in (per_owner or {}).items()}

    async def get(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        owned = self._per_owner.get(owner_id, {})
        if name in owned:
            return dict(owned[name])
        if name in self._shared:
            return dict(self._shared[name])
        raise CredentialNotFound(name)
