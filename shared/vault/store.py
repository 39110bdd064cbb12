"""Stored credentials: the `credentials` rows plus their values in a backend (local AES-GCM or
Secrets Manager), and the `CredentialProvider` the runner reads them through.

Values go in and come out only here: `CredentialInfo` (what lists and the API show) has no values,
and `get` (the runner's door) is the one method that returns them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shared.db.models import Credential
from shared.db.types import utcnow
from shared.engine.errors import CredentialNotFound
from shared.vault.types import CredentialInvalid, StoredValues, check_name, validate_values

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.engine.context import CredentialProvider
    from shared.settings import Settings


class VaultBackend(Protocol):
    name: str

    def put(self, owner_id: uuid.UUID, name: str, values: dict[str, Any], secret_ref: str | None) -> StoredValues: ...

    def read(
        self, owner_id: uuid.UUID, name: str, secret_ref: str | None, ciphertext: bytes | None
    ) -> dict[str, Any]: ...

    def remove(self, secret_ref: str | None) -> None: ...


class CredentialExists(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"a credential named {name!r} already exists")


class BackendMismatch(Exception):
    """A row written by another backend than the one configured now."""


@dataclass(frozen=True)
class CredentialInfo:
    """A credential without its values: all that ever leaves the vault for display."""

    name: str
    type: str
    backend: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Credential) -> CredentialInfo:
        return cls(row.name, row.type, row.backend, row.created_at, row.updated_at)


def backend_from_settings(settings: Settings) -> VaultBackend:
    if settings.vault_backend == "secretsmanager":
        from shared.vault.secretsmanager import SecretsManagerBackend

        return SecretsManagerBackend(
            settings.vault_secret_prefix,
            region=settings.vault_aws_region,
            endpoint_url=settings.vault_aws_endpoint_url,
            cache_max_age_s=settings.vault_cache_max_age_s,
        )
    from shared.vault.local import LocalBackend

    if settings.vault_master_key_secret_id:
        from shared.vault.secretsmanager import read_master_key

        secret_id = settings.vault_master_key_secret_id
        return LocalBackend(
            settings.data_dir / "vault.key",
            load_master=lambda: read_master_key(
                secret_id, region=settings.vault_aws_region, endpoint_url=settings.vault_aws_endpoint_url
            ),
        )
    return LocalBackend(settings.data_dir / "vault.key")


def vault_from_settings(engine: Engine, settings: Settings) -> CredentialVault:
    return CredentialVault(engine, backend_from_settings(settings))


class CredentialVault:
    """Create, replace, delete and list an owner's credentials; `get` serves the runner."""

    def __init__(self, engine: Engine, backend: VaultBackend) -> None:
        self.engine = engine
        self.backend = backend

    def _row(self, session: Session, owner_id: uuid.UUID, name: str) -> Credential | None:
        query = select(Credential).where(Credential.owner_id == owner_id, Credential.name == name)
        return session.exec(query).first()

    def list(self, owner_id: uuid.UUID) -> list[CredentialInfo]:
        with Session(self.engine) as session:
            rows = session.exec(select(Credential).where(Credential.owner_id == owner_id).order_by(Credential.name))
            return [CredentialInfo.of(row) for row in rows]

    def info(self, owner_id: uuid.UUID, name: str) -> CredentialInfo | None:
        with Session(self.engine) as session:
            row = self._row(session, owner_id, name)
            return CredentialInfo.of(row) if row is not None else None

    def create(self, owner_id: uuid.UUID, name: str, type_: str, values: Any) -> CredentialInfo:
        """Raises `CredentialInvalid` (naming the field) or `CredentialExists`."""
        check_name(name)
        clean = validate_values(type_, values)
        with Session(self.engine, expire_on_commit=False) as session:
            if self._row(session, owner_id, name) is not None:
                raise CredentialExists(name)
            row = Credential(owner_id=owner_id, name=name, type=type_, backend=self.backend.name)
            session.add(row)
            try:
                session.flush()  # the unique (owner, name) check, before anything is stored outside
            except IntegrityError:
                raise CredentialExists(name) from None
            stored = self.backend.put(owner_id, name, clean, None)
            row.secret_ref, row.ciphertext = stored.secret_ref, stored.ciphertext
            try:
                session.commit()
            except BaseException:
                self.backend.remove(stored.secret_ref)
                raise
            return CredentialInfo.of(row)

    def update(self, owner_id: uuid.UUID, name: str, values: Any, type_: str | None = None) -> CredentialInfo | None:
        """Replace the values (and optionally the type); None when the owner has no such credential."""
        with Session(self.engine, expire_on_commit=False) as session:
            row = self._row(session, owner_id, name)
            if row is None:
                return None
            self._check_backend(row)
            clean = validate_values(type_ or row.type, values)
            stored = self.backend.put(owner_id, name, clean, row.secret_ref)
            row.type, row.secret_ref, row.ciphertext = type_ or row.type, stored.secret_ref, stored.ciphertext
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
            return CredentialInfo.of(row)

    def delete(self, owner_id: uuid.UUID, name: str) -> bool:
        """Delete the row and its secret; the row goes only when the secret could be deleted."""
        with Session(self.engine) as session:
            row = self._row(session, owner_id, name)
            if row is None:
                return False
            self._check_backend(row)
            secret_ref = row.secret_ref
            session.delete(row)
            session.flush()
            self.backend.remove(secret_ref)
            session.commit()
            return True

    def delete_all(self, owner_id: uuid.UUID) -> int:
        """Every credential of an owner, secrets included (account deletion)."""
        return sum(self.delete(owner_id, info.name) for info in self.list(owner_id))

    def values(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        """The values with their `type`, as nodes expect them; `CredentialNotFound` when missing."""
        with Session(self.engine) as session:
            row = self._row(session, owner_id, name)
            if row is None:
                raise CredentialNotFound(name)
            self._check_backend(row)
            values = self.backend.read(owner_id, name, row.secret_ref, row.ciphertext)
            return {**values, "type": row.type}

    async def get(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        """`CredentialProvider`: database and backend calls block, so they run in a thread."""
        return await asyncio.to_thread(self.values, owner_id, name)

    def _check_backend(self, row: Credential) -> None:
        if row.backend != self.backend.name:
            where, configured = row.backend, self.backend.name
            raise BackendMismatch(f"credential {row.name!r} is in the {where} backend; the vault uses {configured}")


class FirstFoundCredentials:
    """Asks providers in order; the first that has the name answers (`flowbuilder run`: file, then vault)."""

    def __init__(self, *providers: CredentialProvider) -> None:
        self.providers = providers

    async def get(self, owner_id: uuid.UUID, name: str) -> dict[str, Any]:
        for provider in self.providers:
            try:
                return await provider.get(owner_id, name)
            except CredentialNotFound:
                continue
        raise CredentialNotFound(name)


__all__ = [
    "BackendMismatch",
    "CredentialExists",
    "CredentialInfo",
    "CredentialInvalid",
    "CredentialVault",
    "FirstFoundCredentials",
    "VaultBackend",
    "backend_from_settings",
    "vault_from_settings",
]
