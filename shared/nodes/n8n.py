"""`n8n.trigger`: start an n8n workflow through its Webhook node; a thin `http.request` with n8n's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.nodes.http import HttpRequestConfig, run_http_request
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


class TriggerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="n8n.trigger")

    url: str = Field(
        description="The Webhook node's production URL (…/webhook/<path>), or its test URL (…/webhook-test/<path>).",
        examples=["https://n8n.example.com/webhook/new-lead"],
    )
    method: Literal["POST", "PUT", "PATCH", "GET"] = Field(
        default="POST", description="The HTTP method the Webhook node listens for.", examples=["POST"]
    )
    body: Any = Field(
        default=None,
        description="JSON sent as the request body (not with GET); the n8n workflow reads it as $json.body.",
        examples=[{"email": "{{ input.email }}", "source": "flowbuilder"}],
    )
    credential: str | None = Field(
        default=None,
        description="A stored credential matching the Webhook node's authentication: header (Header Auth), "
        "basic (Basic Auth) or bearer (JWT Auth).",
        examples=["n8n-webhook"],
    )
    send_idempotency_key: bool = Field(
        default=True,
        description="Send an Idempotency-Key header, the same on every retry of this step, so the n8n workflow "
        "can drop duplicates.",
        examples=[False],
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="How long to wait for n8n's answer (it waits for the workflow when set to respond at the end); "
        "capped by the server's limit.",
        examples=[30],
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return HttpRequestConfig._http_url(value)


async def run_trigger(ctx: NodeContext, config: TriggerConfig) -> dict[str, Any]:
    """Call an n8n workflow's webhook with a JSON body; returns the status and what n8n answered in
    `body` (the workflow's response, or n8n's "Workflow was started" message).

    An error status fails the step with n8n's message (a 404 means the workflow is not active or the
    path is wrong); 408, 429 and 5xx, timeouts and connection failures are retried when the node has
    retries. The Idempotency-Key header stays the same on every retry.
    """
    request: dict[str, Any] = {
        "method": config.method,
        "url": config.url,
        "credential": config.credential,
        "timeout_s": config.timeout_s,
        "send_idempotency_key": config.send_idempotency_key,
    }
    if config.method != "GET":
        request["json"] = config.body
    response = await run_http_request(ctx, HttpRequestConfig.model_validate(request))
    return {"status": response["status"], "body": response["body"]}


NODE_TYPES = (NodeType(name="n8n.trigger", config_model=TriggerConfig, run=run_trigger, cost=1, side_effects=True),)
