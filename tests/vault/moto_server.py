"""Moved to `tests.support.moto_server`; kept so the vault tests' imports stay valid."""

from tests.support.moto_server import REGION, fake_aws_environment, free_port, moto_server

__all__ = ["REGION", "fake_aws_environment", "free_port", "moto_server"]
