"""The two lanes' workers.

Light: the Lambda from `worker_image/light_lambda.py` on the light queue, reporting batch item
failures so only failed records come back. Browser: an EventBridge Pipe turns each browser-queue
message into one ECS RunTask on Fargate Spot, with the message body in `FLOWBUILDER_MESSAGE`.

RunTask does not fall back from Spot to on-demand by itself: the strategy's weights
(`fargate_spot_weight`, `fargate_weight`) say which share of tasks goes where."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from constructs import Construct

from infra.nag import suppress
from infra.retention import log_retention
from infra.runtime import OWN_RESOURCE_WILDCARDS, AppRuntime

LIGHT_TIMEOUT = Duration.minutes(5)
LIGHT_VISIBILITY = Duration.minutes(30)  # 6 x the function's timeout, as AWS recommends
BROWSER_VISIBILITY = Duration.minutes(2)  # the pipe's RunTask call; the message is then deleted
CONTAINER = "worker"
MESSAGE_ENV = "FLOWBUILDER_MESSAGE"
SPOT_NOTICE = Duration.seconds(120)


class Workers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runtime: AppRuntime, image: ecs.ContainerImage) -> None:
        super().__init__(scope, construct_id)
        self.runtime = runtime
        self.light_function = self._light_lane()
        self.cluster = ecs.Cluster(self, "Cluster", vpc=runtime.network.vpc, enable_fargate_capacity_providers=True)
        self.cluster.add_default_capacity_provider_strategy(
            [
                ecs.CapacityProviderStrategy(
                    capacity_provider="FARGATE_SPOT", weight=runtime.config.fargate_spot_weight
                ),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=runtime.config.fargate_weight),
            ]
        )
        suppress(self.cluster, ("AwsSolutions-ECS4", "Container Insights bills per task metric; alarms cover errors"))
        self.task_definition, self.task_security_group = self._task(image)
        self.pipe = self._pipe()

    def _light_lane(self):
        runtime = self.runtime
        function = runtime.function(
            self,
            "LightFunction",
            handler="worker_image.light_lambda.handler",
            service="flowbuilder-light-worker",
            timeout=LIGHT_TIMEOUT,
            memory_mb=1024,
            description="Flow Builder light-lane worker (SQS)",
        )
        lane = runtime.queues.light
        function.add_event_source(
            sources.SqsEventSource(
                lane.queue,
                batch_size=1,
                report_batch_item_failures=True,
                max_concurrency=max(2, runtime.config.light_max_concurrency),
            )
        )
        runtime.queues.browser.queue.grant_send_messages(function)  # past its deadline: handed to Fargate
        self._grant_worker(function)
        return function

    def _task(self, image: ecs.ContainerImage) -> tuple[ecs.FargateTaskDefinition, ec2.SecurityGroup]:
        runtime = self.runtime
        definition = ecs.FargateTaskDefinition(
            self,
            "BrowserTask",
            cpu=1024,
            memory_limit_mib=2048,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        log_group = logs.LogGroup(self, "BrowserTaskLogs", retention=log_retention(runtime.config.log_retention_days))
        definition.add_container(
            CONTAINER,
            image=image,
            essential=True,
            environment={
                **runtime.environment,
                "AWS_REGION": Stack.of(self).region,
                "AWS_DEFAULT_REGION": Stack.of(self).region,
                "POWERTOOLS_SERVICE_NAME": "flowbuilder-browser-worker",
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=log_group),
            stop_timeout=SPOT_NOTICE,
            readonly_root_filesystem=False,
        )
        runtime.grant_settings(definition.task_role)
        runtime.queues.browser.queue.grant_send_messages(definition.task_role)  # SIGTERM: handed back
        self._grant_worker(definition.task_role)
        suppress(definition.task_role, ("AwsSolutions-IAM5", OWN_RESOURCE_WILDCARDS))
        suppress(
            definition.obtain_execution_role(),
            ("AwsSolutions-IAM5", "ecr:GetAuthorizationToken has no resource-level permissions: it takes `*`"),
        )
        security_group = ec2.SecurityGroup(
            self,
            "BrowserTasks",
            vpc=runtime.network.vpc,
            description="Browser workers: no inbound",
            allow_all_outbound=True,
        )
        runtime.data.allow_database_from(security_group, "Flow Builder browser workers")
        suppress(
            definition,
            ("AwsSolutions-ECS2", "Only names and ARNs are in the environment; secrets come from the settings secret"),
        )
        return definition, security_group

    def _grant_worker(self, grantee: iam.IGrantable) -> None:
        data = self.runtime.data
        data.gate_table.grant_read_write_data(grantee)
        data.artifacts.grant_read_write(grantee)
        self.runtime.grant_credentials(grantee, "read")

    def _pipe(self) -> pipes.CfnPipe:
        runtime, definition = self.runtime, self.task_definition
        queue = runtime.queues.browser.queue
        role = iam.Role(self, "PipeRole", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"))
        queue.grant_consume_messages(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[definition.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["ecs:TagResource"], resources=["*"]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[definition.task_role.role_arn, definition.obtain_execution_role().role_arn],
            )
        )
        suppress(role, ("AwsSolutions-IAM5", "ecs:TagResource on the tasks RunTask starts, whose ARNs are not known"))
        log_group = logs.LogGroup(self, "PipeLogs", retention=log_retention(runtime.config.log_retention_days))
        log_group.grant_write(role)
        config = runtime.config
        strategy = [
            pipes.CfnPipe.CapacityProviderStrategyItemProperty(
                capacity_provider="FARGATE_SPOT", weight=config.fargate_spot_weight, base=0
            ),
            pipes.CfnPipe.CapacityProviderStrategyItemProperty(
                capacity_provider="FARGATE", weight=config.fargate_weight, base=0
            ),
        ]
        subnets = runtime.network.task_subnet_ids
        return pipes.CfnPipe(
            self,
            "BrowserPipe",
            description="Browser queue -> one Fargate Spot task per message",
            role_arn=role.role_arn,
            source=queue.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(batch_size=1)
            ),
            target=self.cluster.cluster_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                ecs_task_parameters=pipes.CfnPipe.PipeTargetEcsTaskParametersProperty(
                    task_definition_arn=definition.task_definition_arn,
                    task_count=1,
                    capacity_provider_strategy=strategy,
                    platform_version="LATEST",
                    network_configuration=pipes.CfnPipe.NetworkConfigurationProperty(
                        awsvpc_configuration=pipes.CfnPipe.AwsVpcConfigurationProperty(
                            subnets=subnets,
                            security_groups=[self.task_security_group.security_group_id],
                            assign_public_ip="ENABLED",
                        )
                    ),
                    overrides=pipes.CfnPipe.EcsTaskOverrideProperty(
                        container_overrides=[
                            pipes.CfnPipe.EcsContainerOverrideProperty(
                                name=CONTAINER,
                                environment=[
                                    pipes.CfnPipe.EcsEnvironmentVariableProperty(name=MESSAGE_ENV, value="$.body")
                                ],
                            )
                        ]
                    ),
                )
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level="ERROR",
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=log_group.log_group_arn
                ),
            ),
        )
