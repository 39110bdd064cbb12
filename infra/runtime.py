"""What every Flow Builder process in AWS shares: the code, the settings it reads from its
environment (never a secret value: those come from the settings secret), and the grants that
follow from them. The constructs for each function and task build on it."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig
from infra.data import Data
from infra.nag import suppress
from infra.network import Network
from infra.queues import Queues
from infra.retention import log_retention

RUNTIME = lambda_.Runtime.PYTHON_3_13  # infra.build_lambda.PYTHON_VERSION
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "FlowBuilder"
OWN_RESOURCE_WILDCARDS = (
    "Wildcards only inside this stack's resources: object keys of the artifacts bucket and secret names "
    "under the credential prefix, which are created at run time"
)
CREDENTIAL_ACTIONS = {
    "manage": [
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DeleteSecret",
    ],
    "read": ["secretsmanager:GetSecretValue"],
    "delete": ["secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret"],
}


class AppRuntime(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        network: Network,
        data: Data,
        queues: Queues,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config, self.network, self.data, self.queues = config, network, data, queues
        asset = Path(config.lambda_asset)
        if not asset.is_dir():
            raise FileNotFoundError(f"context lambda_asset: {asset} is not a directory; run `make build-lambda`")
        self.code = lambda_.Code.from_asset(str(asset))
        self.function_security_group = ec2.SecurityGroup(
            self, "Functions", vpc=network.vpc, description="Flow Builder Lambdas: no inbound", allow_all_outbound=True
        )
        data.allow_database_from(self.function_security_group, "Flow Builder Lambdas")

    @property
    def environment(self) -> dict[str, str]:
        config, data, queues = self.config, self.data, self.queues
        env = {
            "FLOWBUILDER_MODE": "aws",
            "FLOWBUILDER_AWS_REGION": Stack.of(self).region,
            "FLOWBUILDER_VAULT_AWS_REGION": Stack.of(self).region,
            "FLOWBUILDER_DATA_DIR": "/tmp/flowbuilder",  # noqa: S108 - Lambda's only writable place
            "FLOWBUILDER_SETTINGS_SECRET_ID": data.settings_secret.secret_arn,
            "FLOWBUILDER_LIGHT_QUEUE_URL": queues.light.queue.queue_url,
            "FLOWBUILDER_BROWSER_QUEUE_URL": queues.browser.queue.queue_url,
            "FLOWBUILDER_GATE_TABLE": data.gate_table.table_name,
            "FLOWBUILDER_ARTIFACTS_BUCKET": data.artifacts.bucket_name,
            "FLOWBUILDER_VAULT_SECRET_PREFIX": config.credential_prefix,
            "FLOWBUILDER_VAULT_BACKEND": "secretsmanager" if config.vault_backend == "secretsmanager" else "local",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        env = {**dict(config.extra_environment), **env}  # the stack's own settings cannot be overridden
        if data.master_key_secret is not None:
            env["FLOWBUILDER_VAULT_MASTER_KEY_SECRET_ID"] = data.master_key_secret.secret_arn
        return env

    def grant_settings(self, grantee: iam.IGrantable) -> None:
        self.data.settings_secret.grant_read(grantee)
        if self.data.master_key_secret is not None:
            self.data.master_key_secret.grant_read(grantee)

    def grant_credentials(self, grantee: iam.IGrantable, access: str) -> None:
        """Only the credential prefix: `<prefix>/<owner>/<name>` (Secrets Manager appends `-xxxxxx`)."""
        if self.config.vault_backend != "secretsmanager":
            return
        stack = Stack.of(self)
        arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{self.config.credential_prefix}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=CREDENTIAL_ACTIONS[access], resources=[arn])
        )

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        service: str,
        timeout: Duration,
        memory_mb: int,
        environment: dict[str, str] | None = None,
        description: str,
    ) -> lambda_.Function:
        """A Lambda in the private subnets with JSON logs into its own log group (retention set)."""
        log_group = logs.LogGroup(scope, f"{construct_id}Logs", retention=log_retention(self.config.log_retention_days))
        function = lambda_.Function(
            scope,
            construct_id,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self.code,
            handler=handler,
            timeout=timeout,
            memory_size=memory_mb,
            environment={**self.environment, "POWERTOOLS_SERVICE_NAME": service, **(environment or {})},
            vpc=self.network.vpc,
            vpc_subnets=self.network.lambda_subnets,
            security_groups=[self.function_security_group],
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        self.grant_settings(function)
        suppress(
            function,
            ("AwsSolutions-IAM4", "AWS's managed Lambda basic and VPC execution policies: logs and network interfaces"),
            ("AwsSolutions-IAM5", OWN_RESOURCE_WILDCARDS),
            ("AwsSolutions-L1", "The runtime matches the wheels `make build-lambda` installs (infra/build_lambda.py)"),
        )
        return function
