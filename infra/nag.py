"""cdk-nag: the AwsSolutions pack over the whole app, and local suppressions that each carry a reason."""

from __future__ import annotations

from constructs import IConstruct


def suppress(construct: IConstruct, *rules: tuple[str, str], applies_to: list[str] | None = None) -> None:
    """Suppress `(rule id, reason)` pairs on `construct` and everything under it."""
    from cdk_nag import NagPackSuppression, NagSuppressions

    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to) for rule, reason in rules],
        apply_to_children=True,
    )


def check_app(app) -> None:
    """Add the AwsSolutions checks; they report when the app is synthesized."""
    from aws_cdk import Aspects
    from cdk_nag import AwsSolutionsChecks

    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))


CDK_SINGLETONS = {
    "Custom::CDKBucketDeployment": (
        ("AwsSolutions-IAM4", "CDK's BucketDeployment handler uses the AWS managed basic execution role"),
        ("AwsSolutions-IAM5", "CDK's BucketDeployment handler copies any object of the site and the asset"),
        ("AwsSolutions-L1", "The CDK picks the BucketDeployment handler's runtime"),
    ),
    "LogRetention": (
        ("AwsSolutions-IAM4", "CDK's log-retention handler uses the AWS managed basic execution role"),
        ("AwsSolutions-IAM5", "CDK's log-retention handler sets retention on log groups it cannot name in advance"),
    ),
    "SchedulerRoleForTarget": (
        ("AwsSolutions-IAM5", "EventBridge Scheduler may invoke the scheduler function's versions (`:*`) only"),
    ),
    "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider": (
        ("AwsSolutions-IAM4", "CDK's trigger provider uses the AWS managed basic execution role"),
        ("AwsSolutions-L1", "The CDK picks the trigger provider's runtime"),
    ),
    "CustomS3AutoDeleteObjectsCustomResourceProvider": (
        ("AwsSolutions-IAM4", "CDK's auto-delete provider uses the AWS managed basic execution role"),
    ),
}


def suppress_cdk_singletons(stack) -> None:
    """Functions the CDK itself adds at the stack's root (one per stack), each with reasons."""
    for child in stack.node.children:
        for prefix, rules in CDK_SINGLETONS.items():
            if child.node.id.startswith(prefix):
                suppress(child, *rules)
