"""`slack.post` against a local server answering like Slack's incoming webhooks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.slack import SlackPostConfig
from shared.vault.types import CredentialInvalid, validate_values

HOOK_PATH = "/services/T000/B000/XXXXSECRET"


def hook(server) -> dict:
    return {"credentials": {"alerts": {"type": "slack_webhook", "url": server.url(HOOK_PATH)}}}


async def test_posts_text_and_blocks_as_json(server, run_node) -> None:
    server.route(HOOK_PATH, body="ok")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Order* shipped"}}]

    output = await run_node(
        "slack.post", {"credential": "alerts", "text": "Order shipped", "blocks": blocks}, **hook(server)
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", HOOK_PATH)
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {"text": "Order shipped", "blocks": blocks}
    assert output == {"ok": True, "status": 200, "response": "ok"}


@pytest.mark.parametrize(
    ("status", "answer", "meaning"),
    [
        (400, "invalid_payload", "the message is not valid"),
        (403, "action_prohibited", "an admin has restricted posting"),
        (404, "no_service", "the webhook is disabled, removed or invalid"),
        (410, "channel_is_archived", "the webhook's channel is archived"),
    ],
)
async def test_slack_errors_fail_with_their_meaning_and_hide_the_url(server, run_node, status, answer, meaning) -> None:
    server.route(HOOK_PATH, status=status, body=answer)

    with pytest.raises(NodeError) as caught:
        await run_node("slack.post", {"credential": "alerts", "text": "hi"}, **hook(server))

    assert f"HTTP {status}: {answer}: {meaning}" in caught.value.message
    assert "XXXXSECRET" not in caught.value.message
    assert not caught.value.retryable


@pytest.mark.parametrize("status", [429, 500])
async def test_rate_limits_and_server_errors_are_retryable(server, run_node, status) -> None:
    server.route(HOOK_PATH, status=status, body="rollup_error", headers={"Retry-After": "3"})

    with pytest.raises(NodeError, match="Retry-After: 3s") as caught:
        await run_node("slack.post", {"credential": "alerts", "text": "hi"}, **hook(server))

    assert caught.value.retryable


async def test_connection_refused_is_retryable(run_node) -> None:
    credential = {"type": "slack_webhook", "url": "http://127.0.0.1:9/services/x"}

    with pytest.raises(NodeError, match="ConnectError") as caught:
        await run_node("slack.post", {"credential": "alerts", "text": "hi"}, credentials={"alerts": credential})

    assert caught.value.retryable


def test_needs_text_or_blocks() -> None:
    with pytest.raises(ValidationError, match="set text, blocks or both"):
        SlackPostConfig.model_validate({"credential": "alerts"})


def test_the_credential_must_be_a_web_url() -> None:
    with pytest.raises(CredentialInvalid, match=r"values\.url"):
        validate_values("slack_webhook", {"url": "file:///etc/passwd"})
