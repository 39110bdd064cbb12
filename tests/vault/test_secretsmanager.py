"""The Secrets Manager backend against moto in server mode, and the vault on top of it."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.db.models import Credential, User
from shared.vault.secretsmanager import SecretsManagerBackend, SecretsManagerError, TTLCache
from shared.vault.store import CredentialVault
from tests.vault.moto_server import REGION


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}/credentials"


@pytest.fixture
def backend(aws_env, moto_endpoint: str, prefix: str, clock: FakeClock) -> SecretsManagerBackend:
    return SecretsManagerBackend(prefix, region=REGION, endpoint_url=moto_endpoint, cache_max_age_s=30, clock=clock)


@pytest.fixture
def aws(aws_env, moto_endpoint: str):
    """A separate client, to look at (and change) secrets behind the backend's back."""
    return boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint)


def test_put_creates_one_secret_under_the_owner_prefix(backend: SecretsManagerBackend, aws, prefix: str) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "tok-123456"}, None)
    assert stored.ciphertext is None
    described = aws.describe_secret(SecretId=stored.secret_ref)
    assert described["Name"] == f"{prefix}/{owner}/github"
    assert json.loads(aws.get_secret_value(SecretId=stored.secret_ref)["SecretString"]) == {"token": "tok-123456"}


def test_read_returns_the_values(backend: SecretsManagerBackend) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "tok-123456"}, None)
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "tok-123456"}


def test_update_replaces_the_values_and_the_cached_copy(backend: SecretsManagerBackend) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "old-token"}, None)
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "old-token"}
    again = backend.put(owner, "github", {"token": "new-token"}, stored.secret_ref)
    assert again.secret_ref == stored.secret_ref
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "new-token"}


def test_remove_deletes_the_secret_at_once(backend: SecretsManagerBackend, aws) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "tok-123456"}, None)
    backend.remove(stored.secret_ref)
    with pytest.raises(aws.exceptions.ResourceNotFoundException):
        aws.describe_secret(SecretId=stored.secret_ref)
    with pytest.raises(SecretsManagerError, match="ResourceNotFoundException"):
        backend.read(owner, "github", stored.secret_ref, None)
    backend.remove(stored.secret_ref)  # already gone: not an error


def test_a_name_can_be_reused_after_delete(backend: SecretsManagerBackend) -> None:
    owner = uuid.uuid4()
    backend.remove(backend.put(owner, "github", {"token": "first-one"}, None).secret_ref)
    stored = backend.put(owner, "github", {"token": "second-one"}, None)
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "second-one"}


def test_an_orphaned_secret_of_the_same_name_is_taken_over(backend: SecretsManagerBackend, aws) -> None:
    owner = uuid.uuid4()
    aws.create_secret(Name=backend.secret_name(owner, "github"), SecretString='{"token": "orphan"}')
    stored = backend.put(owner, "github", {"token": "fresh-token"}, None)
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "fresh-token"}


def test_reads_are_cached_until_their_max_age(backend: SecretsManagerBackend, aws, clock: FakeClock) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "cached-token"}, None)
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "cached-token"}
    aws.put_secret_value(SecretId=stored.secret_ref, SecretString='{"token": "rotated-token"}')

    clock.now += 29
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "cached-token"}
    assert backend.calls == 1

    clock.now += 2
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "rotated-token"}
    assert backend.calls == 2


def test_a_cached_read_is_a_copy(backend: SecretsManagerBackend) -> None:
    owner = uuid.uuid4()
    stored = backend.put(owner, "github", {"token": "cached-token"}, None)
    backend.read(owner, "github", stored.secret_ref, None)["token"] = "changed by a caller"
    assert backend.read(owner, "github", stored.secret_ref, None) == {"token": "cached-token"}


def test_the_client_is_made_once_and_reused(backend: SecretsManagerBackend) -> None:
    assert backend.client is backend.client


def test_zero_max_age_disables_the_cache(clock: FakeClock) -> None:
    cache = TTLCache(0, clock)
    cache.put("key", {"a": 1})
    assert cache.get("key") is None


def test_the_cache_stays_bounded(clock: FakeClock) -> None:
    cache = TTLCache(30, clock, max_entries=3)
    for index in range(10):
        cache.put(f"key{index}", index)
    assert cache.get("key9") == 9
    assert len(cache._entries) <= 3


def test_errors_name_the_secret_not_its_value(aws_env, prefix: str) -> None:
    unreachable = SecretsManagerBackend(prefix, region=REGION, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(SecretsManagerError) as raised:
        unreachable.put(uuid.uuid4(), "github", {"token": "never-shown-123"}, None)
    assert "never-shown-123" not in str(raised.value)
    assert "github" in str(raised.value)


def test_vault_with_secrets_manager_round_trip(engine: Engine, backend: SecretsManagerBackend, aws) -> None:
    with Session(engine) as session:
        owner = User(kind="user")
        session.add(owner)
        session.commit()
        owner_id = owner.id
    vault = CredentialVault(engine, backend)
    info = vault.create(
        owner_id,
        "smtp-main",
        "smtp",
        {"host": "mail.example.com", "port": 587, "username": "me", "password": "pw-123456"},
    )
    assert info.backend == "secretsmanager"
    with Session(engine) as session:
        row = session.get(Credential, vault_row_id(engine, owner_id, "smtp-main"))
        assert row.ciphertext is None and row.secret_ref.startswith("arn:")
        secret_ref = row.secret_ref
    values = vault.values(owner_id, "smtp-main")
    assert values == {
        "type": "smtp",
        "host": "mail.example.com",
        "port": 587,
        "username": "me",
        "password": "pw-123456",
        "security": "starttls",
    }

    vault.update(
        owner_id,
        "smtp-main",
        {"host": "mail.example.com", "port": 465, "username": "me", "password": "pw-654321", "security": "ssl"},
    )
    assert vault.values(owner_id, "smtp-main")["password"] == "pw-654321"

    assert vault.delete(owner_id, "smtp-main")
    assert vault.info(owner_id, "smtp-main") is None
    with pytest.raises(aws.exceptions.ResourceNotFoundException):
        aws.describe_secret(SecretId=secret_ref)


def vault_row_id(engine: Engine, owner_id: uuid.UUID, name: str) -> uuid.UUID:
    from sqlmodel import select

    with Session(engine) as session:
        return session.exec(select(Credential.id).where(Credential.owner_id == owner_id, Credential.name == name)).one()
