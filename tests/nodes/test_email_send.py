"""`email.send` against a real SMTP server (aiosmtpd): plain relays, STARTTLS, implicit TLS, login."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr, ValidationError

from shared.engine.errors import NodeError
from shared.nodes.email import EmailConfig
from shared.settings import Settings
from tests.support.smtp_server import RecordingSmtp, free_port, start_smtp

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def mailbox() -> RecordingSmtp:
    return RecordingSmtp(users={"robot": "s3cret"})


@pytest.fixture
def relay(mailbox: RecordingSmtp) -> Iterator[int]:
    """A plain relay without login, like a local Postfix."""
    controller = start_smtp(mailbox)
    yield controller.port
    controller.stop()


@pytest.fixture
def trust_test_certificate(localhost_certificate, monkeypatch) -> None:
    """The system trust store, with the test certificate in it (OpenSSL reads SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(localhost_certificate.cert))


def smtp(port: int, security: str = "none", **extra) -> dict:
    values = {"type": "smtp", "host": "127.0.0.1", "port": port, "username": "", "password": "", "security": security}
    return {"credentials": {"mail": {**values, **extra}}}


def email(**overrides) -> dict:
    return {"credential": "mail", "from": "Robot <robot@example.com>", "to": "ann@example.com",
            "subject": "Hello", "text": "Hi Ann", **overrides}  # fmt: skip


async def test_sends_text_to_every_recipient_and_hides_bcc(relay, mailbox, run_node, make_context) -> None:
    ctx = make_context("email.send", **smtp(relay))

    output = await run_node(
        "email.send",
        email(
            to=["Ann <ann@example.com>", "bob@example.com"],
            cc="cy@example.com",
            bcc=["dee@example.com"],
            reply_to="help@example.com",
        ),
        ctx=ctx,
    )

    [delivered] = mailbox.delivered
    assert delivered.mail_from == "robot@example.com"
    assert sorted(delivered.rcpt_tos) == ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    message = delivered.message
    assert message["From"] == "Robot <robot@example.com>"
    assert message["To"] == "Ann <ann@example.com>, bob@example.com"
    assert message["Cc"] == "cy@example.com"
    assert message["Bcc"] is None
    assert message["Reply-To"] == "help@example.com"
    assert message["Subject"] == "Hello"
    assert message["Message-ID"] == f"<{ctx.idempotency_key}@example.com>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Hi Ann"
    assert not delivered.tls
    assert output["message_id"] == message["Message-ID"]
    assert output["accepted"] == ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    assert output["refused"] == {}


async def test_text_and_html_go_as_multipart_alternative(relay, mailbox, run_node) -> None:
    await run_node("email.send", email(html="<p>Hi <b>Ann</b></p>"), **smtp(relay))

    message = mailbox.delivered[0].message
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content().strip() for part in message.iter_parts()}
    assert parts == {"text/plain": "Hi Ann", "text/html": "<p>Hi <b>Ann</b></p>"}


async def test_html_only(relay, mailbox, run_node) -> None:
    await run_node("email.send", email(text=None, html="<p>Hi</p>"), **smtp(relay))

    assert mailbox.delivered[0].message.get_content_type() == "text/html"


async def test_starttls_with_login(mailbox, localhost_certificate, trust_test_certificate, run_node) -> None:
    controller = start_smtp(mailbox, starttls=localhost_certificate.server_context(), auth=True)
    try:
        credential = smtp(controller.port, "starttls", host="localhost", username="robot", password="s3cret")
        await run_node("email.send", email(), **credential)
    finally:
        controller.stop()

    [delivered] = mailbox.delivered
    assert delivered.tls
    assert delivered.login == "robot"


async def test_implicit_tls_with_login(mailbox, localhost_certificate, trust_test_certificate, run_node) -> None:
    controller = start_smtp(mailbox, implicit_tls=localhost_certificate.server_context(), auth=True)
    try:
        credential = smtp(controller.port, "ssl", host="localhost", username="robot", password="s3cret")
        await run_node("email.send", email(), **credential)
    finally:
        controller.stop()

    assert mailbox.delivered[0].login == "robot"


async def test_an_untrusted_certificate_fails_for_good(mailbox, localhost_certificate, run_node) -> None:
    controller = start_smtp(mailbox, starttls=localhost_certificate.server_context())
    try:
        with pytest.raises(NodeError, match="TLS certificate is not valid") as caught:
            await run_node("email.send", email(), **smtp(controller.port, "starttls", host="localhost"))
    finally:
        controller.stop()

    assert not caught.value.retryable
    assert mailbox.delivered == []


async def test_authentication_failure_is_not_retryable(mailbox, run_node) -> None:
    controller = start_smtp(mailbox, auth=True)
    try:
        with pytest.raises(NodeError, match="authentication failed: 535") as caught:
            await run_node("email.send", email(), **smtp(controller.port, username="robot", password="wrong"))
    finally:
        controller.stop()

    assert not caught.value.retryable
    assert mailbox.delivered == []


async def test_connection_refused_is_retryable(run_node) -> None:
    with pytest.raises(NodeError, match="ConnectionRefusedError") as caught:
        await run_node("email.send", email(), **smtp(free_port()))

    assert caught.value.retryable


async def test_refused_recipients(relay, mailbox, run_node) -> None:
    mailbox.refuse = {"bob@example.com": "550 5.1.1 no such user", "cy@example.com": "450 4.2.0 try later"}

    output = await run_node("email.send", email(to=["ann@example.com", "bob@example.com"]), **smtp(relay))
    assert output["accepted"] == ["ann@example.com"]
    assert output["refused"] == {"bob@example.com": "550 5.1.1 no such user"}

    with pytest.raises(NodeError, match=re.escape("refused every recipient: bob@example.com: 550")) as caught:
        await run_node("email.send", email(to="bob@example.com"), **smtp(relay))
    assert not caught.value.retryable

    with pytest.raises(NodeError, match="refused every recipient") as caught:
        await run_node("email.send", email(to="cy@example.com"), **smtp(relay))
    assert caught.value.retryable


async def test_platform_smtp_settings_when_no_credential(relay, mailbox, run_node) -> None:
    platform = Settings(egress_allow_private=True, smtp_host="127.0.0.1", smtp_port=relay, smtp_security="none",
                        smtp_from="alerts@flow.example")  # fmt: skip

    await run_node("email.send", {"to": "ann@example.com", "subject": "s", "text": "t"}, settings=platform)

    assert mailbox.delivered[0].mail_from == "alerts@flow.example"

    closed = platform.model_copy(update={"smtp_for_nodes": False})
    with pytest.raises(NodeError, match="set `credential`"):
        await run_node("email.send", {"to": "ann@example.com", "subject": "s", "text": "t"}, settings=closed)


async def test_platform_login_uses_the_password_setting(mailbox, run_node) -> None:
    controller = start_smtp(mailbox, auth=True)
    try:
        platform = Settings(egress_allow_private=True, smtp_host="127.0.0.1", smtp_port=controller.port,
                            smtp_security="none", smtp_username="robot", smtp_password=SecretStr("s3cret"))  # fmt: skip
        await run_node("email.send", email(credential=None), settings=platform)
    finally:
        controller.stop()

    assert mailbox.delivered[0].login == "robot"


async def test_the_egress_guard_checks_the_smtp_host(relay, mailbox, run_node) -> None:
    with pytest.raises(NodeError, match=re.escape("refused: 127.0.0.1 is loopback")) as caught:
        await run_node("email.send", email(), settings=Settings(), **smtp(relay))

    assert not caught.value.retryable
    assert mailbox.delivered == []


async def test_for_each_items_get_their_own_message_id(relay, mailbox, run_node, make_context) -> None:
    ctx = make_context("email.send", scope={"input": {}, "nodes": {}, "execution": {}, "item": "x", "index": 3},
                       **smtp(relay))  # fmt: skip

    await run_node("email.send", email(), ctx=ctx)

    assert mailbox.delivered[0].message["Message-ID"] == f"<{ctx.idempotency_key}.3@example.com>"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.com"}, "subject"),
        ({"to": "not-an-address"}, "to"),
        ({"from": "robot@example.com\nX: y"}, "from"),
        ({"text": None}, "text, html"),
    ],
)
def test_config_refuses_bad_fields(change, field) -> None:
    with pytest.raises(ValidationError) as caught:
        EmailConfig.model_validate(email(**change))

    assert field in str(caught.value)


def test_workflow_validation_accepts_templated_recipients_and_names_bad_ones() -> None:
    from shared.engine.validation import validate_definition
    from shared.nodes import default_registry

    def issues(to):
        node = {"id": "mail", "type": "email.send", "config": email(to=to)}
        return [(issue.field, issue.message) for issue in validate_definition({"nodes": [node]}, default_registry())[1]]

    assert issues(["{{ input.email }}", "ops@example.com"]) == []
    assert issues("{{ input.emails }}") == []
    [(field, message)] = issues(["{{ input.email }}", "nobody"])
    assert field == "config.to[1]"
    assert "'nobody' is not an email address" in message
