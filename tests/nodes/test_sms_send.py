"""`sms.send` against a local server speaking Twilio's Messages API."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.sms import SmsConfig
from shared.settings import Settings

SID = "AC0123456789abcdef0123456789abcdef"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


def twilio(server) -> dict:
    return {
        "credentials": {"tw": {"type": "twilio", "account_sid": SID, "auth_token": "tok", "base_url": server.url()}}
    }


def created(**extra) -> dict:
    return {
        "sid": "SM0123456789abcdef0123456789abcdef",
        "status": "queued",
        "to": "+14155550100",
        "from": "+14155550199",
        "messaging_service_sid": None,
        "num_segments": "1",
        "date_created": "Tue, 24 Nov 2026 03:00:00 +0000",
        **extra,
    }


def twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def test_posts_the_form_with_basic_auth_and_idempotency_token(server, run_node, make_context) -> None:
    server.route(MESSAGES_PATH, status=201, body=created())
    ctx = make_context("sms.send", **twilio(server))

    output = await run_node(
        "sms.send", {"credential": "tw", "to": "+14155550100", "from": "+14155550199", "body": "Hi & bye"}, ctx=ctx
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", MESSAGES_PATH)
    assert received.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:tok".encode()).decode()
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    assert received.headers["i-twilio-idempotency-token"] == ctx.idempotency_key
    assert parse_qs(received.body.decode()) == {"To": ["+14155550100"], "From": ["+14155550199"], "Body": ["Hi & bye"]}
    assert output["sid"] == "SM0123456789abcdef0123456789abcdef"
    assert output["status"] == "queued"


async def test_messaging_service_instead_of_a_sender(server, run_node) -> None:
    service = "MG" + "0" * 32
    server.route(MESSAGES_PATH, status=201, body=created(messaging_service_sid=service))

    await run_node(
        "sms.send",
        {"credential": "tw", "to": "+14155550100", "messaging_service_sid": service, "body": "x"},
        **twilio(server),
    )

    assert parse_qs(server.received[0].body.decode())["MessagingServiceSid"] == [service]
    assert "From" not in parse_qs(server.received[0].body.decode())


async def test_twilio_errors_fail_with_code_and_message(server, run_node) -> None:
    server.route(
        MESSAGES_PATH, status=400, body=twilio_error(21211, "The 'To' number +1 is not a valid phone number.", 400)
    )

    with pytest.raises(
        NodeError, match=re.escape("HTTP 400: Twilio error 21211: The 'To' number +1 is not a valid")
    ) as caught:
        await run_node(
            "sms.send", {"credential": "tw", "to": "+1", "from": "+14155550199", "body": "x"}, **twilio(server)
        )

    assert not caught.value.retryable


async def test_bad_credentials_are_not_retried(server, run_node) -> None:
    server.route(MESSAGES_PATH, status=401, body=twilio_error(20003, "Authenticate", 401))

    with pytest.raises(NodeError, match="Twilio error 20003: Authenticate") as caught:
        await run_node("sms.send", {"credential": "tw", "to": "+1415", "from": "+1415", "body": "x"}, **twilio(server))

    assert not caught.value.retryable


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retryable(server, run_node, status) -> None:
    server.route(MESSAGES_PATH, status=status, body=twilio_error(20429, "Too Many Requests", status))

    with pytest.raises(NodeError, match=f"HTTP {status}") as caught:
        await run_node("sms.send", {"credential": "tw", "to": "+1415", "from": "+1415", "body": "x"}, **twilio(server))

    assert caught.value.retryable


async def test_timeout_is_bounded_and_retryable(server, run_node) -> None:
    server.route(MESSAGES_PATH, status=201, body=created(), delay_s=1.0)
    quick = Settings(egress_allow_private=True, messaging_timeout_s=0.2)

    with pytest.raises(NodeError, match=re.escape("timed out after 0.2s")) as caught:
        await run_node(
            "sms.send",
            {"credential": "tw", "to": "+1415", "from": "+1415", "body": "x"},
            settings=quick,
            **twilio(server),
        )

    assert caught.value.retryable


def test_config_needs_exactly_one_sender() -> None:
    with pytest.raises(ValidationError, match="exactly one of from or messaging_service_sid"):
        SmsConfig.model_validate({"credential": "tw", "to": "+1415", "body": "x"})
    with pytest.raises(ValidationError, match="to"):
        SmsConfig.model_validate({"credential": "tw", "to": "not a number", "from": "+1", "body": "x"})
