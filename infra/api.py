"""The API: the Lambda from `api/handler.py` behind a function URL, which CloudFront reaches as
its `/api/*` origin. Its timeout sits under CloudFront's 30 s origin read timeout, and over the
~20 s an event stream waits in aws mode."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.runtime import AppRuntime

TIMEOUT = Duration.seconds(29)


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runtime: AppRuntime, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.function = runtime.function(
            self,
            "Function",
            handler="api.handler.handler",
            service="flowbuilder-api",
            timeout=TIMEOUT,
            memory_mb=1024,
            environment=clerk_environment(config),
            description="Flow Builder API (FastAPI through Mangum)",
        )
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        data, queues = runtime.data, runtime.queues
        queues.light.queue.grant_send_messages(self.function)
        queues.browser.queue.grant_send_messages(self.function)
        data.gate_table.grant_read_write_data(self.function)
        data.artifacts.grant_read_write(self.function)
        data.artifacts.grant_delete(self.function)
        runtime.grant_credentials(self.function, "manage")


def clerk_environment(config: StackConfig) -> dict[str, str]:
    """Clerk's verification settings and the origins allowed in a token's `azp`."""
    env = {"FLOWBUILDER_TRUSTED_PROXY_HOPS": str(config.trusted_proxy_hops)}
    for name in ("clerk_issuer", "clerk_jwks_url", "clerk_public_key_pem"):
        value = getattr(config, name)
        if value:
            env[f"FLOWBUILDER_{name.upper()}"] = value
    if config.clerk_issuer and not config.clerk_jwks_url and not config.clerk_public_key_pem:
        env["FLOWBUILDER_CLERK_JWKS_URL"] = config.clerk_issuer.rstrip("/") + "/.well-known/jwks.json"
    if config.site_origins:
        env["FLOWBUILDER_CLERK_AUTHORIZED_PARTIES"] = json.dumps(list(config.site_origins))
    return env
