"""`slack.post`: a message to a Slack channel through an incoming webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.nodes.registry import NodeType
from shared.nodes.service_call import ServiceReply, call_service, credential_of

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

SLACK_ERRORS = {
    "invalid_payload": "the message is not valid (check text and blocks)",
    "invalid_token": "the webhook URL is not valid",
    "no_text": "the message has no text",
    "no_service": "the webhook is disabled, removed or invalid",
    "no_service_id": "the webhook URL is incomplete",
    "no_team": "the Slack workspace is gone or the URL is incomplete",
    "team_disabled": "the Slack workspace is disabled",
    "channel_not_found": "the webhook's channel no longer exists",
    "channel_is_archived": "the webhook's channel is archived",
    "action_prohibited": "an admin has restricted posting to this channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
    "too_many_attachments": "too many attachments",
    "rollup_error": "Slack failed to accept the message",
}
"""Slack's answers to a failed webhook post (a text body, not JSON) and what they mean."""


class SlackPostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="slack.post")

    credential: str = Field(
        description="Name of a `slack_webhook` credential holding the incoming webhook URL (it is a secret).",
        examples=["slack-alerts"],
    )
    text: str | None = Field(
        default=None,
        max_length=40000,
        description="The message (Slack mrkdwn); with blocks, the notification's fallback text.",
        examples=["Order {{ input.id }} shipped"],
    )
    blocks: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=50,
        description="Block Kit blocks (at most 50).",
        examples=[[{"type": "section", "text": {"type": "mrkdwn", "text": "*Order {{ input.id }}* shipped"}}]],
    )

    @model_validator(mode="after")
    def _has_content(self) -> SlackPostConfig:
        if not self.text and not self.blocks:
            raise ValueError("set text, blocks or both")
        return self


async def run_slack_post(ctx: NodeContext, config: SlackPostConfig) -> dict[str, Any]:
    """Post a message (text and/or Block Kit blocks) to the channel of a Slack incoming webhook. Slack's
    error answers (invalid_payload, no_service, channel_not_found, ...) fail the step with their
    meaning; 429 and 5xx answers, timeouts and connection failures are retryable. Incoming webhooks
    accept no idempotency key, so a step retried after a lost answer may post twice.
    """
    credential = await credential_of(ctx, config.credential, "slack_webhook", "slack.post")
    payload: dict[str, Any] = {}
    if config.text:
        payload["text"] = config.text
    if config.blocks:
        payload["blocks"] = config.blocks
    timeout_s = ctx.settings.messaging_timeout_s
    request = ctx.http.build_request("POST", credential["url"], json=payload, timeout=timeout_s)
    reply = await call_service(
        ctx, request, service="slack.post", timeout_s=timeout_s, read_error=slack_error, secret_url=True
    )
    ctx.log.info("posted to Slack", status=reply.status)
    return {"ok": True, "status": reply.status, "response": reply.text()}


def slack_error(reply: ServiceReply) -> str | None:
    code = reply.text()
    meaning = SLACK_ERRORS.get(code)
    return f"{code}: {meaning}" if meaning else None


NODE_TYPES = (
    NodeType(
        name="slack.post", config_model=SlackPostConfig, run=run_slack_post, cost=1, lane="light", side_effects=True
    ),
)
