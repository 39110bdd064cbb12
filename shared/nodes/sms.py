"""`sms.send`: a text message through Twilio's Messages API."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType
from shared.nodes.service_call import ServiceReply, call_service, credential_of

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

DEFAULT_BASE_URL = "https://api.twilio.com"
PHONE_HINT = "an E.164 number such as +14155550100 (or a channel address such as whatsapp:+14155550100)"


class SmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="sms.send")

    credential: str = Field(
        description="Name of a `twilio` credential: account_sid and auth_token.", examples=["twilio-main"]
    )
    to: str = Field(description=f"Recipient: {PHONE_HINT}.", examples=["+14155550100"])
    from_number: str | None = Field(
        default=None,
        alias="from",
        description="Sender: a Twilio number you own. Set this or messaging_service_sid.",
        examples=["+14155550199"],
    )
    messaging_service_sid: str | None = Field(
        default=None,
        pattern=r"^MG[0-9a-fA-F]{32}$",
        description="A Messaging Service that picks the sender. Set this or `from`.",
        examples=["MG9752274e9e519418a7406176694466fa"],
    )
    body: str = Field(
        min_length=1,
        max_length=1600,
        description="The text (at most 1600 characters).",
        examples=["Your code is {{ input.code }}"],
    )

    @field_validator("to", "from_number")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.strip()
        if not value or any(c.isspace() for c in value) or len(value) > 64:
            raise ValueError(f"must be {PHONE_HINT}")
        return value

    @model_validator(mode="after")
    def _one_sender(self) -> SmsConfig:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of from or messaging_service_sid")
        return self


async def run_sms_send(ctx: NodeContext, config: SmsConfig) -> dict[str, Any]:
    """Send an SMS (or another Twilio channel message) with Twilio's REST API: a form-encoded
    POST to /2010-04-01/Accounts/{AccountSid}/Messages.json with basic authentication. The step's
    idempotency key goes in the I-Twilio-Idempotency-Token header, so a retried step does not send
    twice. Twilio's errors come back with their code and message (e.g. 21211, an invalid To number);
    429 and 5xx answers, timeouts and connection failures are retryable. Returns the message's sid,
    status and segment count.
    """
    credential = await credential_of(ctx, config.credential, "twilio", "sms.send")
    sid, token = credential["account_sid"], credential["auth_token"]
    base_url = (credential.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    form = {"To": config.to, "Body": config.body}
    if config.from_number:
        form["From"] = config.from_number
    else:
        form["MessagingServiceSid"] = config.messaging_service_sid or ""
    timeout_s = ctx.settings.messaging_timeout_s
    request = ctx.http.build_request(
        "POST",
        f"{base_url}/2010-04-01/Accounts/{sid}/Messages.json",
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode("ascii"),
            "Accept": "application/json",
            "I-Twilio-Idempotency-Token": ctx.idempotency_key,
        },
        data=form,
        timeout=timeout_s,
    )
    reply = await call_service(ctx, request, service="sms.send", timeout_s=timeout_s, read_error=twilio_error)
    message = reply.json()
    if not isinstance(message, dict) or not message.get("sid"):
        raise NodeError("sms.send: Twilio's answer has no message sid", retryable=False)
    ctx.log.info(f"message {message['sid']} is {message.get('status')}", sid=message["sid"])
    return {
        "sid": message["sid"],
        "status": message.get("status"),
        "to": message.get("to"),
        "from": message.get("from"),
        "messaging_service_sid": message.get("messaging_service_sid"),
        "num_segments": message.get("num_segments"),
        "date_created": message.get("date_created"),
    }


def twilio_error(reply: ServiceReply) -> str | None:
    """Twilio's `{"code": 21211, "message": "...", "more_info": "https://..."}`."""
    body = reply.json()
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    code = body.get("code")
    return f"Twilio error {code}: {body['message']}" if code else body["message"]


NODE_TYPES = (
    NodeType(name="sms.send", config_model=SmsConfig, run=run_sms_send, cost=5, lane="light", side_effects=True),
)
