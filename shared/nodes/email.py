"""`email.send`: an email over SMTP, from an `smtp` credential or the platform's SMTP server."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType
from shared.nodes.service_call import credential_of
from shared.nodes.smtp_delivery import SmtpServer, deliver

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

MAX_RECIPIENTS = 100


def check_address(value: str) -> str:
    """`a@b.example` or `Name <a@b.example>` on one line; ValueError otherwise."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError("an address must be on one line")
    _name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain.strip(".") or " " in address:
        raise ValueError(f"{value!r} is not an email address")
    return value


def _address_list(value: Any) -> Any:
    """A comma-separated string is accepted as well as a list (a template stays whole until rendered)."""
    if isinstance(value, str):
        if "{{" in value:
            return [value]
        return [item for _, item in getaddresses([value]) if item] if value.strip() else []
    return value


EmailAddress = Annotated[str, AfterValidator(check_address)]
"""Checked item by item, so that validation can tell a template item from a bad address."""


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="email.send")

    credential: str | None = Field(
        default=None,
        description="Name of an `smtp` credential (host, port, username, password, security: starttls, ssl or "
        "none, from_address). Unset: the platform's SMTP server, where the operator allows it.",
        examples=["smtp-main"],
    )
    from_address: str | None = Field(
        default=None,
        alias="from",
        description="Sender, `a@b.example` or `Name <a@b.example>`; the credential's from_address (or the "
        "platform's smtp_from) when unset.",
        examples=["Flow Builder <robot@example.com>"],
    )
    to: list[EmailAddress] = Field(
        min_length=1, description="Recipients: a list, or one comma-separated string.", examples=[["ann@example.com"]]
    )
    cc: list[EmailAddress] = Field(default_factory=list, description="Copy recipients.", examples=[["bob@example.com"]])
    bcc: list[EmailAddress] = Field(
        default_factory=list,
        description="Blind copy recipients (not shown to the others).",
        examples=[["audit@example.com"]],
    )
    reply_to: str | None = Field(default=None, description="Where replies go.", examples=["help@example.com"])
    subject: str = Field(max_length=998, description="Subject line (one line).", examples=["Order {{ input.id }}"])
    text: str | None = Field(
        default=None, description="Plain-text body.", examples=["Hi {{ input.name }},\n\nyour order shipped."]
    )
    html: str | None = Field(
        default=None,
        description="HTML body; sent with `text` as multipart/alternative when both are set.",
        examples=["<p>Hi {{ input.name }}, your order <b>shipped</b>.</p>"],
    )

    _lists = field_validator("to", "cc", "bcc", mode="before")(_address_list)

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(c in value for c in "\r\n\0"):
            raise ValueError("the subject must be one line")
        return value

    @model_validator(mode="after")
    def _has_body_and_few_recipients(self) -> EmailConfig:
        if self.text is None and self.html is None:
            raise ValueError("set text, html or both")
        if len(self.to) + len(self.cc) + len(self.bcc) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} recipients (to, cc and bcc together)")
        return self


async def run_email_send(ctx: NodeContext, config: EmailConfig) -> dict[str, Any]:
    """Send an email over SMTP with STARTTLS, implicit TLS (ssl) or neither (local relays), from an
    `smtp` credential or else the platform's SMTP server. Text, HTML or both (multipart/alternative);
    to, cc, bcc and reply-to. The Message-ID is derived from the step's idempotency key, so a retried
    send carries the same ID and receiving systems can drop the duplicate. Authentication failures,
    refused addresses and 5xx replies fail the step; refused connections, timeouts and 4xx replies
    are retryable. The host must pass the egress guard.
    """
    server = await _server(ctx, config)
    sender = config.from_address or server.from_address
    if not sender:
        raise NodeError("email.send: set `from`, or from_address on the credential", retryable=False)
    message = build_message(config, sender, message_id(ctx, sender))
    refused = await deliver(message, server, ctx.settings)
    recipients = [parseaddr(item)[1] for item in [*config.to, *config.cc, *config.bcc]]
    accepted = [item for item in recipients if item not in refused]
    ctx.log.info(f"sent to {len(accepted)} recipients via {server.host}", refused=len(refused))
    return {"message_id": message["Message-ID"], "accepted": accepted, "refused": refused}


async def _server(ctx: NodeContext, config: EmailConfig) -> SmtpServer:
    if config.credential:
        return SmtpServer.from_credential(await credential_of(ctx, config.credential, "smtp", "email.send"))
    server = SmtpServer.from_settings(ctx.settings) if ctx.settings.smtp_for_nodes else None
    if server is None:
        raise NodeError("email.send: set `credential` (no platform SMTP server is available)", retryable=False)
    return server


def message_id(ctx: NodeContext, sender: str) -> str:
    """`<idempotency key[.item index]@sender's domain>`: the same on every attempt of the step."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "flowbuilder.invalid"
    index = ctx.scope.get("index")
    suffix = f".{index}" if isinstance(index, int) else ""
    return f"<{ctx.idempotency_key}{suffix}@{domain}>"


def build_message(config: EmailConfig, sender: str, msg_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = _header_address(sender)
    message["To"] = [_header_address(item) for item in config.to]
    if config.cc:
        message["Cc"] = [_header_address(item) for item in config.cc]
    if config.bcc:
        message["Bcc"] = [_header_address(item) for item in config.bcc]
    if config.reply_to:
        message["Reply-To"] = _header_address(config.reply_to)
    message["Subject"] = config.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = msg_id
    if config.text is not None:
        message.set_content(config.text)
        if config.html is not None:
            message.add_alternative(config.html, subtype="html")
    else:
        message.set_content(config.html or "", subtype="html")
    return message


def _header_address(value: str) -> Address:
    name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


NODE_TYPES = (
    NodeType(name="email.send", config_model=EmailConfig, run=run_email_send, cost=2, lane="light", side_effects=True),
)
