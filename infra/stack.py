"""The whole system as one stack, assembled from one construct per concern."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from infra.api import Api
from infra.config import StackConfig
from infra.data import Data
from infra.migrations import Migrations
from infra.nag import suppress_cdk_singletons
from infra.network import Network
from infra.observability import Observability
from infra.queues import Queues
from infra.runtime import AppRuntime
from infra.scheduler import Scheduler
from infra.web import Web
from infra.workers import BROWSER_VISIBILITY, LIGHT_VISIBILITY, Workers

REPO_ROOT = Path(__file__).resolve().parent.parent


class FlowBuilderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network = Network(self, "Network", nat=config.nat)
        self.data = data = Data(self, "Data", network=network, config=config)
        self.queues = queues = Queues(
            self, "Queues", light_visibility=LIGHT_VISIBILITY, browser_visibility=BROWSER_VISIBILITY
        )
        runtime = AppRuntime(self, "Runtime", config=config, network=network, data=data, queues=queues)
        self.api = api = Api(self, "Api", runtime=runtime, config=config)
        self.scheduler = scheduler = Scheduler(self, "Scheduler", runtime=runtime)
        self.migrations = migrations = Migrations(self, "Migrations", runtime=runtime)
        self.workers = workers = Workers(self, "Workers", runtime=runtime, image=worker_image(config))
        migrations.trigger.execute_before(
            api.function, scheduler.function, workers.light_function, workers.task_definition
        )  # new code meets a migrated schema
        self.web = web = Web(self, "Web", config=config, api_url=api.url, logs_bucket=data.access_logs)
        self.observability = Observability(
            self,
            "Observability",
            dead_letter_queues=queues.dead_letter_queues,
            functions={
                "Api": api.function,
                "Scheduler": scheduler.function,
                "LightWorker": workers.light_function,
                "Migrations": migrations.function,
            },
            alarm_email=config.alarm_email,
        )
        suppress_cdk_singletons(self)
        CfnOutput(self, "SiteUrl", value=f"https://{config.domain_name or web.distribution.distribution_domain_name}")
        CfnOutput(self, "DatabaseSecretArn", value=data.database.secret.secret_arn)
        CfnOutput(self, "LightQueueUrl", value=queues.light.queue.queue_url)
        CfnOutput(self, "BrowserQueueUrl", value=queues.browser.queue.queue_url)


def worker_image(config: StackConfig) -> ecs.ContainerImage:
    """`asset` builds Dockerfile.worker at deploy time (Docker needed then, not at synth); any other
    value is an image reference, e.g. one pushed by CI, or a placeholder in the tests."""
    if config.worker_image == "asset":
        return ecs.ContainerImage.from_asset(str(REPO_ROOT), file="Dockerfile.worker")
    return ecs.ContainerImage.from_registry(config.worker_image)
