"""Scheduler fixtures: moto in server mode for the aws-mode gate, queues and Lambda handler."""

from tests.support.moto_server import aws_env, moto_endpoint

__all__ = ["aws_env", "moto_endpoint"]
