"""The scheduler: the Lambda from `scheduler_lambda/handler.py`, invoked every minute by an
EventBridge Scheduler schedule (retries, then a dead-letter queue). Most ticks read one DynamoDB
item and return, so the database can stay paused."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from infra.runtime import AppRuntime

SERVICE = "flowbuilder-scheduler"


class Scheduler(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runtime: AppRuntime) -> None:
        super().__init__(scope, construct_id)
        self.function = runtime.function(
            self,
            "Function",
            handler="scheduler_lambda.handler.handler",
            service=SERVICE,
            timeout=Duration.seconds(55),  # under the minute, so ticks do not pile up
            memory_mb=512,
            description="Flow Builder schedule tick, outbox and reaper",
        )
        data, queues = runtime.data, runtime.queues
        queues.light.queue.grant_send_messages(self.function)
        queues.browser.queue.grant_send_messages(self.function)
        data.gate_table.grant_read_write_data(self.function)
        data.artifacts.grant_read(self.function)
        data.artifacts.grant_delete(self.function)  # guest clean-up removes their artifacts
        runtime.grant_credentials(self.function, "delete")
        self.schedule = scheduler.Schedule(
            self,
            "EveryMinute",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(1)),
            description="Flow Builder tick",
            target=targets.LambdaInvoke(
                self.function,
                retry_attempts=2,
                max_event_age=Duration.minutes(2),
                dead_letter_queue=queues.schedule_dead_letters,
            ),
        )
