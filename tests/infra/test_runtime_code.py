"""What the stack relies on in the code it deploys: settings from the settings secret, the
migration handler, and the Lambda build's wheels for the runtime the stack declares."""

from __future__ import annotations

import json
import uuid

import pytest

from infra import build_lambda
from infra.migrate_handler import handler as migrate
from shared.settings import Settings
from tests.support.moto_server import REGION, aws_env, moto_endpoint  # noqa: F401 - fixtures


@pytest.fixture
def settings_secret(moto_endpoint, aws_env, monkeypatch):  # noqa: F811
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint)
    name = f"settings-{uuid.uuid4().hex}"
    arn = client.create_secret(
        Name=name,
        SecretString=json.dumps(
            {"database_url": "postgresql+psycopg://u:p%40ss@db.internal:5432/flowbuilder", "guest_ip_salt": "s4lt"}
        ),
    )["ARN"]
    monkeypatch.setenv("FLOWBUILDER_SETTINGS_SECRET_ID", arn)
    monkeypatch.setenv("FLOWBUILDER_AWS_REGION", REGION)
    monkeypatch.setenv("FLOWBUILDER_VAULT_AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("FLOWBUILDER_DATABASE_URL", raising=False)
    return arn


def test_secret_settings_come_from_the_settings_secret(settings_secret):
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u:p%40ss@db.internal:5432/flowbuilder"
    assert settings.guest_ip_salt.get_secret_value() == "s4lt"


def test_environment_variables_win_over_the_settings_secret(settings_secret, monkeypatch):
    monkeypatch.setenv("FLOWBUILDER_GUEST_IP_SALT", "from-env")
    assert Settings().guest_ip_salt.get_secret_value() == "from-env"


def test_without_a_settings_secret_nothing_is_fetched(monkeypatch):
    monkeypatch.delenv("FLOWBUILDER_SETTINGS_SECRET_ID", raising=False)
    monkeypatch.setenv("FLOWBUILDER_VAULT_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would refuse
    assert Settings().settings_secret_id is None


def test_migration_handler_brings_a_database_to_head(tmp_path, monkeypatch):
    from shared.settings import get_settings

    monkeypatch.delenv("FLOWBUILDER_SETTINGS_SECRET_ID", raising=False)
    monkeypatch.setenv("FLOWBUILDER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    try:
        result = migrate({}, None)
    finally:
        get_settings.cache_clear()
    from alembic.script import ScriptDirectory

    from shared.db.migrate import alembic_config

    assert result == {"revision": ScriptDirectory.from_config(alembic_config()).get_current_head()}


def test_lambda_build_installs_wheels_for_the_declared_runtime_and_architecture(tmp_path):
    from infra.runtime import ARCHITECTURE, RUNTIME

    command = build_lambda.pip_command(tmp_path, ["pydantic==2.14.3"])
    assert RUNTIME.name == f"python{build_lambda.PYTHON_VERSION}"
    assert ARCHITECTURE.name == "arm64" and all(p.endswith("_aarch64") for p in build_lambda.PLATFORMS)
    assert command[command.index("--python-version") + 1] == build_lambda.PYTHON_VERSION
    assert "--only-binary=:all:" in command and command[command.index("--target") + 1] == str(tmp_path)


def test_lambda_build_takes_the_projects_runtime_dependencies():
    requirements = build_lambda.runtime_requirements()
    names = {requirement.split("==")[0].split("[")[0].lower() for requirement in requirements}
    assert {"fastapi", "mangum", "sqlalchemy", "aws-lambda-powertools", "psycopg"} <= names
    assert not names & {"pytest", "aws-cdk-lib", "playwright"}
