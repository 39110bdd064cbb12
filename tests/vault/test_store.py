"""The credential vault on the local backend, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.models import Credential, User
from shared.engine.errors import CredentialNotFound
from shared.vault import InMemoryCredentialProvider
from shared.vault.local import LocalBackend, VaultDecryptError
from shared.vault.store import BackendMismatch, CredentialExists, CredentialVault, FirstFoundCredentials
from shared.vault.types import CredentialInvalid


def new_owner(engine: Engine) -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user")
        session.add(owner)
        session.commit()
        return owner.id


@pytest.fixture
def vault(engine: Engine, tmp_path) -> CredentialVault:
    return CredentialVault(engine, LocalBackend(tmp_path / "vault.key"))


def row(engine: Engine, owner_id: uuid.UUID, name: str) -> Credential:
    with Session(engine) as session:
        return session.exec(select(Credential).where(Credential.owner_id == owner_id, Credential.name == name)).one()


async def test_created_values_come_back_with_their_type(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    info = vault.create(owner, "github", "bearer", {"token": "ghp-abcdef"})
    assert (info.name, info.type, info.backend) == ("github", "bearer", "local")
    assert await vault.get(owner, "github") == {"type": "bearer", "token": "ghp-abcdef"}


def test_the_row_holds_only_ciphertext(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    vault.create(owner, "github", "bearer", {"token": "ghp-abcdef"})
    stored = row(engine, owner, "github")
    assert stored.secret_ref is None
    assert b"ghp-abcdef" not in stored.ciphertext


def test_a_ciphertext_copied_to_another_row_does_not_decrypt(vault: CredentialVault, engine: Engine) -> None:
    owner, thief = new_owner(engine), new_owner(engine)
    vault.create(owner, "github", "bearer", {"token": "ghp-abcdef"})
    vault.create(thief, "github", "bearer", {"token": "mine-1234"})
    with Session(engine) as session:
        stolen = session.exec(select(Credential).where(Credential.owner_id == thief, Credential.name == "github")).one()
        stolen.ciphertext = row(engine, owner, "github").ciphertext
        session.add(stolen)
        session.commit()
    with pytest.raises(VaultDecryptError):
        vault.values(thief, "github")


def test_names_are_unique_per_owner(vault: CredentialVault, engine: Engine) -> None:
    owner, other = new_owner(engine), new_owner(engine)
    vault.create(owner, "github", "bearer", {"token": "ghp-abcdef"})
    with pytest.raises(CredentialExists):
        vault.create(owner, "github", "bearer", {"token": "ghp-abcdef"})
    vault.create(other, "github", "bearer", {"token": "other-token"})
    assert vault.values(other, "github")["token"] == "other-token"


def test_unknown_type_names_the_type_field(vault: CredentialVault, engine: Engine) -> None:
    with pytest.raises(CredentialInvalid) as raised:
        vault.create(new_owner(engine), "x", "oauth9", {"token": "abc"})
    assert raised.value.problems[0][0] == "type"
    assert "bearer" in raised.value.problems[0][1]


def test_values_are_checked_against_their_type(vault: CredentialVault, engine: Engine) -> None:
    with pytest.raises(CredentialInvalid) as raised:
        vault.create(new_owner(engine), "mail", "smtp", {"host": "h", "port": 0, "password": "p", "tls": True})
    fields = {field for field, _ in raised.value.problems}
    assert fields == {"values.port", "values.username", "values.tls"}


def test_update_replaces_the_values(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    created = vault.create(owner, "api", "header", {"name": "X-Api-Key", "value": "first-value"})
    updated = vault.update(owner, "api", {"name": "X-Api-Key", "value": "second-value"})
    assert updated.updated_at >= created.updated_at
    assert vault.values(owner, "api")["value"] == "second-value"
    assert vault.update(owner, "missing", {"token": "x"}) is None


def test_update_can_change_the_type(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    vault.create(owner, "api", "bearer", {"token": "first-value"})
    vault.update(owner, "api", {"key": "k-123456"}, "api_key")
    assert vault.values(owner, "api") == {"type": "api_key", "key": "k-123456"}


def test_list_and_delete_are_per_owner(vault: CredentialVault, engine: Engine) -> None:
    owner, other = new_owner(engine), new_owner(engine)
    vault.create(owner, "b-cred", "api_key", {"key": "k-123456"})
    vault.create(owner, "a-cred", "api_key", {"key": "k-123456"})
    vault.create(other, "c-cred", "api_key", {"key": "k-123456"})
    assert [info.name for info in vault.list(owner)] == ["a-cred", "b-cred"]
    assert not vault.delete(other, "a-cred")
    assert vault.delete(owner, "a-cred")
    assert [info.name for info in vault.list(owner)] == ["b-cred"]
    with pytest.raises(CredentialNotFound):
        vault.values(owner, "a-cred")


def test_a_row_of_another_backend_is_refused_clearly(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    with Session(engine) as session:
        session.add(Credential(owner_id=owner, name="remote", type="bearer", backend="secretsmanager", secret_ref="x"))
        session.commit()
    with pytest.raises(BackendMismatch, match="secretsmanager"):
        vault.values(owner, "remote")


async def test_first_found_prefers_the_earlier_provider(vault: CredentialVault, engine: Engine) -> None:
    owner = new_owner(engine)
    vault.create(owner, "shared", "bearer", {"token": "from-vault"})
    vault.create(owner, "only-vault", "bearer", {"token": "vault-only"})
    file_credentials = InMemoryCredentialProvider({"shared": {"type": "bearer", "token": "from-file"}})
    provider = FirstFoundCredentials(file_credentials, vault)
    assert (await provider.get(owner, "shared"))["token"] == "from-file"
    assert (await provider.get(owner, "only-vault"))["token"] == "vault-only"
    with pytest.raises(CredentialNotFound):
        await provider.get(owner, "nowhere")
