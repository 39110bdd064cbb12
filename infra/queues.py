"""The two lanes' SQS queues, each with a dead-letter queue.

Visibility timeouts follow who consumes the message: the light queue feeds a Lambda (AWS asks
for at least six times the function's timeout, so a retried batch is not delivered twice); the
browser queue feeds an EventBridge Pipe whose only work is RunTask, after which the message is
deleted, so a short timeout suffices (the Fargate task's own lifetime is watched by heartbeats)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import suppress

MAX_RECEIVE_COUNT = 3
SOURCE_RETENTION = Duration.days(4)
DLQ_RETENTION = Duration.days(14)


@dataclass(frozen=True)
class Lane:
    queue: sqs.Queue
    dead_letters: sqs.Queue


class Queues(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, light_visibility: Duration, browser_visibility: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.light = self._lane("Light", light_visibility)
        self.browser = self._lane("Browser", browser_visibility)
        self.schedule_dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetters",
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        suppress(
            self.schedule_dead_letters,
            ("AwsSolutions-SQS3", "It is the dead-letter queue of the scheduler's EventBridge schedule"),
        )

    @property
    def dead_letter_queues(self) -> dict[str, sqs.Queue]:
        return {
            "Light": self.light.dead_letters,
            "Browser": self.browser.dead_letters,
            "Schedule": self.schedule_dead_letters,
        }

    def _lane(self, name: str, visibility: Duration) -> Lane:
        dead_letters = sqs.Queue(
            self,
            f"{name}DeadLetters",
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            name,
            visibility_timeout=visibility,
            retention_period=SOURCE_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=dead_letters),
        )
        return Lane(queue, dead_letters)
