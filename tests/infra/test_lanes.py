"""Queues, the light-lane Lambda, the browser lane's pipe and Fargate tasks, the schedule."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match

from infra.queues import DLQ_RETENTION, MAX_RECEIVE_COUNT, SOURCE_RETENTION
from infra.workers import CONTAINER, LIGHT_TIMEOUT, MESSAGE_ENV


def logical_id(stack, construct) -> str:
    return stack.get_logical_id(construct.node.default_child)


def test_each_lane_queue_redrives_to_a_dead_letter_queue_that_keeps_messages_longer(synthesized):
    stack = synthesized.stack
    for lane in (stack.queues.light, stack.queues.browser):
        queues = synthesized.resources("AWS::SQS::Queue")
        source = queues[logical_id(stack, lane.queue)]["Properties"]
        dead_letters = queues[logical_id(stack, lane.dead_letters)]["Properties"]
        assert source["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [logical_id(stack, lane.dead_letters), "Arn"]},
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        assert dead_letters["MessageRetentionPeriod"] > source["MessageRetentionPeriod"]
        assert source["MessageRetentionPeriod"] == SOURCE_RETENTION.to_seconds()
        assert dead_letters["MessageRetentionPeriod"] == DLQ_RETENTION.to_seconds()


def test_every_queue_is_encrypted_and_denies_access_without_tls(synthesized):
    stack = synthesized.stack
    queues = synthesized.resources("AWS::SQS::Queue")
    assert len(queues) == 5
    for properties in (queue["Properties"] for queue in queues.values()):
        assert properties["SqsManagedSseEnabled"] is True
    policies = synthesized.resources("AWS::SQS::QueuePolicy")
    covered = set()
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": statements[0]["Resource"],
        } in statements
        covered.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert covered == set(queues)
    del stack


def test_light_queue_visibility_covers_six_function_timeouts(synthesized):
    stack = synthesized.stack
    queue = synthesized.resources("AWS::SQS::Queue")[logical_id(stack, stack.queues.light.queue)]
    function = synthesized.resources("AWS::Lambda::Function")[logical_id(stack, stack.workers.light_function)]
    assert function["Properties"]["Timeout"] == LIGHT_TIMEOUT.to_seconds()
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


def test_light_worker_reads_the_light_queue_and_reports_batch_item_failures(synthesized):
    stack = synthesized.stack
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [logical_id(stack, stack.queues.light.queue), "Arn"]},
            "FunctionName": {"Ref": logical_id(stack, stack.workers.light_function)},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": Match.any_value()},
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "worker_image.light_lambda.handler", "Runtime": Match.string_like_regexp("python3")},
    )


def test_browser_pipe_turns_each_message_into_one_fargate_spot_task_with_the_body_in_its_environment(synthesized):
    stack = synthesized.stack
    workers = stack.workers
    task_definition = Capture()
    subnets = Capture()
    synthesized.template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "Source": {"Fn::GetAtt": [logical_id(stack, stack.queues.browser.queue), "Arn"]},
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
            "Target": {"Fn::GetAtt": [logical_id(stack, workers.cluster), "Arn"]},
            "TargetParameters": {
                "EcsTaskParameters": {
                    "TaskDefinitionArn": task_definition,
                    "TaskCount": 1,
                    "CapacityProviderStrategy": [
                        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1, "Base": 0},
                        {"CapacityProvider": "FARGATE", "Weight": 0, "Base": 0},
                    ],
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED", "Subnets": subnets}},
                    "Overrides": {
                        "ContainerOverrides": [
                            {"Name": CONTAINER, "Environment": [{"Name": MESSAGE_ENV, "Value": "$.body"}]}
                        ]
                    },
                }
            },
        },
    )
    assert task_definition.as_object() == {"Ref": logical_id(stack, workers.task_definition)}
    public = {stack.resolve(subnet.subnet_id)["Ref"] for subnet in stack.network.vpc.public_subnets}
    assert {subnet["Ref"] for subnet in subnets.as_array()} == public


def test_browser_task_runs_the_worker_image_entry_with_a_spot_notice_stop_timeout(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": CONTAINER,
                        "StopTimeout": 120,
                        "LogConfiguration": Match.object_like({"LogDriver": "awslogs"}),
                    }
                )
            ],
        },
    )


def test_cluster_offers_fargate_spot_with_fargate_beside_it(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "CapacityProviders": Match.array_with(["FARGATE", "FARGATE_SPOT"]),
            "DefaultCapacityProviderStrategy": [
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
                {"CapacityProvider": "FARGATE", "Weight": 0},
            ],
        },
    )


def test_task_security_group_admits_nothing(synthesized):
    stack = synthesized.stack
    group = synthesized.resources("AWS::EC2::SecurityGroup")[logical_id(stack, stack.workers.task_security_group)]
    assert "SecurityGroupIngress" not in group["Properties"]
    ingress = synthesized.resources("AWS::EC2::SecurityGroupIngress").values()
    target = logical_id(stack, stack.workers.task_security_group)
    assert not [rule for rule in ingress if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [target, "GroupId"]}]


def test_scheduler_runs_every_minute_with_retries_and_a_dead_letter_queue(synthesized):
    stack = synthesized.stack
    synthesized.template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "Arn": {"Fn::GetAtt": [logical_id(stack, stack.scheduler.function), "Arn"]},
                    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 120},
                    "DeadLetterConfig": {
                        "Arn": {"Fn::GetAtt": [logical_id(stack, stack.queues.schedule_dead_letters), "Arn"]}
                    },
                }
            ),
        },
    )
    function = synthesized.resources("AWS::Lambda::Function")[logical_id(stack, stack.scheduler.function)]
    assert function["Properties"]["Handler"] == "scheduler_lambda.handler.handler"
    assert function["Properties"]["Timeout"] < 60
