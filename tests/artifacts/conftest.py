"""Artifact store fixtures: moto in server mode for the S3 backend."""

from tests.support.moto_server import aws_env, moto_endpoint

__all__ = ["aws_env", "moto_endpoint"]
