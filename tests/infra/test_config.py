"""The stack's settings from cdk.json context: defaults, coercion, and errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.api import clerk_environment
from infra.config import ConfigError, StackConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def from_context(**context) -> StackConfig:
    return StackConfig.from_context(context.get)


def test_cdk_json_runs_the_app_and_documents_every_setting():
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert cdk_json["app"] == "python -m infra.app"
    config = StackConfig.from_context(cdk_json["context"].get)
    assert config == StackConfig()  # cdk.json states the defaults
    docs = (REPO_ROOT / "docs" / "deploy.md").read_text()
    undocumented = [key for key in cdk_json["context"] if f"`{key}`" not in docs]
    assert undocumented == []


def test_context_values_are_coerced_from_the_command_line():
    config = from_context(
        allowed_origins="https://a.example, https://b.example",
        db_max_acu="4",
        db_deletion_protection="false",
        trusted_proxy_hops="2",
    )
    assert config.allowed_origins == ("https://a.example", "https://b.example")
    assert config.db_max_acu == 4.0
    assert config.db_deletion_protection is False
    assert config.trusted_proxy_hops == 2


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"nat": "satellite"}, "nat"),
        ({"vault_backend": "file"}, "vault_backend"),
        ({"domain_name": "flows.example.com"}, "certificate_arn"),
        ({"log_retention_days": "10"}, "log_retention_days"),
        ({"db_auto_pause_minutes": "1"}, "db_auto_pause_minutes"),
        ({"db_max_acu": "lots"}, "db_max_acu"),
        ({"fargate_spot_weight": "0"}, "fargate_spot_weight"),
        ({"extra_environment": {"FLOWBUILDER_SMTP_PASSWORD": "hunter2"}}, "extra_environment"),
        ({"extra_environment": {"PATH": "/tmp"}}, "extra_environment"),
        ({"extra_environment": "[1, 2]"}, "extra_environment"),
        ({"extra_secret_settings": {"FLOWBUILDER_SMTP_PASSWORD": "smtp"}}, "extra_secret_settings"),
    ],
)
def test_bad_context_is_refused_naming_the_key(context, key):
    with pytest.raises(ConfigError, match=f"context {key}"):
        from_context(**context)


def test_clerk_settings_reach_the_api_and_the_jwks_url_defaults_to_the_issuers():
    env = clerk_environment(
        from_context(clerk_issuer="https://clerk.example.com/", allowed_origins=["https://app.example.com"])
    )
    assert env["FLOWBUILDER_CLERK_ISSUER"] == "https://clerk.example.com/"
    assert env["FLOWBUILDER_CLERK_JWKS_URL"] == "https://clerk.example.com/.well-known/jwks.json"
    assert json.loads(env["FLOWBUILDER_CLERK_AUTHORIZED_PARTIES"]) == ["https://app.example.com"]


def test_a_pem_key_replaces_the_jwks_url_and_the_domain_is_an_authorized_party():
    env = clerk_environment(
        from_context(
            clerk_issuer="https://clerk.example.com",
            clerk_public_key_pem="-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
            domain_name="flows.example.com",
            certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        )
    )
    assert "FLOWBUILDER_CLERK_JWKS_URL" not in env
    assert env["FLOWBUILDER_CLERK_PUBLIC_KEY_PEM"].startswith("-----BEGIN PUBLIC KEY-----")
    assert json.loads(env["FLOWBUILDER_CLERK_AUTHORIZED_PARTIES"]) == ["https://flows.example.com"]


def test_the_credential_prefix_follows_the_stack_name_unless_set():
    assert from_context(stack_name="Acme").credential_prefix == "acme/credentials"
    assert from_context(vault_secret_prefix="fb/creds").credential_prefix == "fb/creds"
