"""Vault fixtures: moto in server mode for the Secrets Manager backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.vault.moto_server import fake_aws_environment, moto_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    fake_aws_environment(monkeypatch, tmp_path)
