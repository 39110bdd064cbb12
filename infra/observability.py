"""Alarms to one SNS topic: a message in any dead-letter queue, function errors, and the stale
executions the scheduler's reaper reports (metric `StaleExecutions`). Alarms cost 0.10 USD a month
each; nothing here polls."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import suppress
from infra.runtime import METRICS_NAMESPACE
from infra.scheduler import SERVICE as SCHEDULER_SERVICE

PERIOD = Duration.minutes(5)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: dict[str, sqs.IQueue],
        functions: dict[str, lambda_.IFunction],
        alarm_email: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name="Flow Builder alarms", enforce_ssl=True)
        suppress(
            self.topic,
            ("AwsSolutions-SNS2", "Alarm names only; a customer key for CloudWatch to publish costs 1 USD a month"),
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                f"Messages in the {name.lower()} dead-letter queue",
            )
        for name, function in functions.items():
            self._alarm(f"{name}Errors", function.metric_errors(period=PERIOD), f"The {name} function failed")
        stale = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="StaleExecutions",
            dimensions_map={"service": SCHEDULER_SERVICE},
            statistic="Sum",
            period=PERIOD,
        )
        self._alarm("StaleExecutions", stale, "Executions whose worker stopped sending heartbeats")

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
