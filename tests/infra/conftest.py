"""One synthesis of the whole stack per test session (it takes tens of seconds), offline: the
Lambda code is a stub directory, the worker image a registry reference (no Docker), and no
web/dist, which must not break synthesis."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

PLACEHOLDER_IMAGE = "example.invalid/flowbuilder-worker:test"


@dataclass
class Synthesized:
    stack: object
    template: object  # aws_cdk.assertions.Template
    template_file: Path
    messages: list[tuple[str, str, str]]  # (level, construct path, text) recorded at synthesis, cdk-nag's among them

    def resources(self, kind: str) -> dict[str, dict]:
        return self.template.find_resources(kind)


def stub_lambda_asset(root: Path) -> Path:
    asset = root / "lambda"
    asset.mkdir(parents=True, exist_ok=True)
    (asset / "stub.py").write_text("def handler(event, context):\n    return None\n")
    return asset


def offline_context(root: Path, **overrides) -> dict:
    return {
        "lambda_asset": str(stub_lambda_asset(root)),
        "worker_image": PLACEHOLDER_IMAGE,
        "web_dist": str(root / "no-web-dist"),
        "clerk_issuer": "https://clerk.example.com",
        "clerk_publishable_key": "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k",
        "allowed_origins": ["https://app.example.com"],
        "extra_environment": {"FLOWBUILDER_SMTP_HOST": "smtp.example.com", "FLOWBUILDER_MODE": "local"},
        "extra_secret_settings": {"smtp_password": "flowbuilder/smtp-password"},
        **overrides,
    }


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    import json

    from aws_cdk.assertions import Template

    from infra.app import build_app

    root = tmp_path_factory.mktemp("infra")
    app, stack = build_app(offline_context(root), outdir=str(root / "cdk.out"))
    artifact = app.synth().get_stack_artifact(stack.artifact_id)
    template_file = root / "template.json"
    template_file.write_text(json.dumps(artifact.template))
    messages = [(str(m.level.value), m.id, str(m.entry.data)) for m in artifact.messages]
    return Synthesized(stack, Template.from_json(artifact.template), template_file, messages)
