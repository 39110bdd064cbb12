"""Database encryption with the master key in Secrets Manager (the low-cost aws option)."""

from __future__ import annotations

import base64
import secrets
import uuid

import boto3
import pytest
from sqlmodel import Session

from shared.db.models import User
from shared.settings import Settings
from shared.vault.local import VaultDecryptError
from shared.vault.store import vault_from_settings
from tests.vault.moto_server import REGION


def owner(engine) -> uuid.UUID:
    with Session(engine) as session:
        user = User(kind="user")
        session.add(user)
        session.commit()
        return user.id


def master_secret(moto_endpoint: str, value: str) -> str:
    secret_id = f"flowbuilder/master-{uuid.uuid4().hex[:8]}"
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint)
    client.create_secret(Name=secret_id, SecretString=value)
    return secret_id


def settings_for(tmp_path, moto_endpoint: str, secret_id: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        vault_backend="local",
        vault_master_key_secret_id=secret_id,
        vault_aws_region=REGION,
        vault_aws_endpoint_url=moto_endpoint,
    )


async def test_credentials_round_trip_with_the_key_from_secrets_manager(engine, tmp_path, moto_endpoint, aws_env):
    secret_id = master_secret(moto_endpoint, base64.b64encode(secrets.token_bytes(32)).decode())
    vault = vault_from_settings(engine, settings_for(tmp_path, moto_endpoint, secret_id))
    owner_id = owner(engine)

    vault.create(owner_id, "api", "bearer", {"token": "s3cr3t-token"})

    assert (await vault.get(owner_id, "api"))["token"] == "s3cr3t-token"
    assert not (tmp_path / "vault.key").exists()


def test_a_master_key_of_the_wrong_size_is_refused(engine, tmp_path, moto_endpoint, aws_env):
    secret_id = master_secret(moto_endpoint, base64.b64encode(b"short").decode())
    vault = vault_from_settings(engine, settings_for(tmp_path, moto_endpoint, secret_id))

    with pytest.raises(VaultDecryptError, match="not 32 bytes"):
        vault.create(owner(engine), "api", "bearer", {"token": "s3cr3t-token"})
