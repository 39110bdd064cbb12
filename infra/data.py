"""What is stored: Aurora PostgreSQL Serverless v2 (0 ACU when idle), the scheduler's wake gate
(a DynamoDB item), the artifacts bucket, and the settings secret the functions read at start."""

from __future__ import annotations

from aws_cdk import Duration, Fn, RemovalPolicy, SecretValue
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import StackConfig
from infra.nag import suppress
from infra.network import Network
from infra.retention import log_retention

DATABASE_NAME = "flowbuilder"
DATABASE_USER = "flowbuilder"


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, network: Network, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.access_logs = self._access_logs_bucket(config)
        self.database = self._database(network, config)
        self.settings_secret = self._settings_secret()
        self.master_key_secret = self._master_key_secret() if config.vault_backend == "database" else None
        self.gate_table = dynamodb.Table(
            self,
            "WakeGate",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.artifacts = s3.Bucket(
            self,
            "Artifacts",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=False,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            # The web app fetches a screenshot through the API, which answers 307 to a presigned URL:
            # the browser then reads the object cross-origin. The URL is the credential, so GET from
            # any origin gives nothing to whoever lacks one.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD], allowed_origins=["*"], max_age=3600
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(config.artifact_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _access_logs_bucket(self, config: StackConfig) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront's standard logs need ACLs
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        suppress(bucket, ("AwsSolutions-S1", "This is the access-log bucket; logging it into itself would loop"))
        return bucket

    def _database(self, network: Network, config: StackConfig) -> rds.DatabaseCluster:
        cluster = rds.DatabaseCluster(
            self,
            "Database",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_7),
            credentials=rds.Credentials.from_generated_secret(DATABASE_USER),
            default_database_name=DATABASE_NAME,
            writer=rds.ClusterInstance.serverless_v2("Writer", auto_minor_version_upgrade=True),
            serverless_v2_min_capacity=0,
            serverless_v2_max_capacity=config.db_max_acu,
            serverless_v2_auto_pause_duration=Duration.minutes(config.db_auto_pause_minutes),
            vpc=network.vpc,
            vpc_subnets=network.database_subnets,
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=config.db_deletion_protection,
            backup=rds.BackupProps(retention=Duration.days(7)),
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        suppress(
            cluster,
            ("AwsSolutions-RDS11", "The default port is not a control: the database is only in isolated subnets"),
            ("AwsSolutions-SMG4", "Rotation would leave the settings secret's copy of the URL stale; see deploy.md"),
        )
        return cluster

    def _settings_secret(self) -> secretsmanager.Secret:
        """`database_url` is assembled by CloudFormation from the cluster's generated secret (a dynamic
        reference: the template holds no password), `guest_ip_salt` from a generated value, and each
        of `extra_secret_settings` (e.g. smtp_password) from an existing secret, also by reference."""
        credentials = self.database.secret
        assert credentials is not None
        salt = secretsmanager.Secret(
            self,
            "GuestIpSalt",
            description="Salt of guest IP hashes",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
        )
        url = Fn.join(
            "",
            [
                "postgresql+psycopg://",
                credentials.secret_value_from_json("username").unsafe_unwrap(),
                ":",
                credentials.secret_value_from_json("password").unsafe_unwrap(),
                "@",
                self.database.cluster_endpoint.socket_address,
                f"/{DATABASE_NAME}?connect_timeout=30&sslmode=require",
            ],
        )
        secret = secretsmanager.Secret(
            self,
            "Settings",
            description="Flow Builder settings that are secrets (FLOWBUILDER_SETTINGS_SECRET_ID)",
            secret_object_value={
                **{
                    setting: SecretValue.secrets_manager(secret_id)
                    for setting, secret_id in self.config.extra_secret_settings
                },
                "database_url": SecretValue.unsafe_plain_text(url),
                "guest_ip_salt": salt.secret_value,
            },
        )
        for generated in (salt, secret):
            suppress(generated, ("AwsSolutions-SMG4", "Derived or random values that nothing can rotate in place"))
        return secret

    def _master_key_secret(self) -> secretsmanager.Secret:
        """Database encryption's master key: base64 of 32 bytes. Secrets Manager generates 43 letters and
        digits (256 bits, all in the base64 alphabet); the trailing `=` makes it decode to 32 bytes."""
        random = secretsmanager.Secret(
            self,
            "MasterKeyMaterial",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=43, exclude_punctuation=True, include_space=False
            ),
        )
        key = secretsmanager.Secret(
            self,
            "VaultMasterKey",
            description="Master key of credentials encrypted in the database (base64)",
            secret_string_value=SecretValue.unsafe_plain_text(Fn.join("", [random.secret_value.unsafe_unwrap(), "="])),
        )
        for secret in (random, key):
            secret.apply_removal_policy(RemovalPolicy.RETAIN)
            suppress(secret, ("AwsSolutions-SMG4", "Rotating the master key would orphan every stored credential"))
        return key

    def allow_database_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.database.connections.allow_default_port_from(peer, description)
