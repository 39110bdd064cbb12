"""`python -m infra.app` (cdk.json's "app"): the stack with cdk-nag's AwsSolutions checks."""

from __future__ import annotations

import os

import aws_cdk as cdk

from infra.config import StackConfig
from infra.nag import check_app
from infra.stack import FlowBuilderStack


def build_app(context: dict | None = None, outdir: str | None = None) -> tuple[cdk.App, FlowBuilderStack]:
    app = cdk.App(context=context, outdir=outdir)
    config = StackConfig.from_context(app.node.try_get_context)
    env = None
    if os.environ.get("CDK_DEFAULT_ACCOUNT"):
        env = cdk.Environment(account=os.environ["CDK_DEFAULT_ACCOUNT"], region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = FlowBuilderStack(app, config.stack_name, config=config, env=env)
    check_app(app)
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
