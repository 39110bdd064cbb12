"""Database migrations on every deploy: a CDK Trigger invokes `infra.migrate_handler` once the
database exists and again whenever the code changes, before the deployment completes."""

from __future__ import annotations

from aws_cdk import Duration, triggers
from constructs import Construct

from infra.runtime import AppRuntime


class Migrations(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runtime: AppRuntime) -> None:
        super().__init__(scope, construct_id)
        self.function = runtime.function(
            self,
            "Function",
            handler="infra.migrate_handler.handler",
            service="flowbuilder-migrate",
            timeout=Duration.minutes(5),  # a paused database takes seconds to resume
            memory_mb=512,
            description="Flow Builder database migrations (Alembic upgrade head)",
        )
        self.trigger = triggers.Trigger(
            self,
            "OnDeploy",
            handler=self.function,
            execute_after=[runtime.data.database],
            execute_on_handler_change=True,
            timeout=Duration.minutes(5),
        )
