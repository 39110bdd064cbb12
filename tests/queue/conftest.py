"""Queue fixtures: moto in server mode, real boto3 calls over HTTP."""

from tests.support.moto_server import aws_env, moto_endpoint

__all__ = ["aws_env", "moto_endpoint"]
