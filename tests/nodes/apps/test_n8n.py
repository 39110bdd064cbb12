"""`n8n.trigger` against a local server answering like an n8n Webhook node."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.n8n import TriggerConfig
from tests.support.http_server import Reply

HOOK = "/webhook/new-lead"


async def test_posts_json_with_idempotency_key_and_returns_the_answer(server, run_node, make_context) -> None:
    server.route(HOOK, body={"message": "Workflow was started"})
    ctx = make_context("n8n.trigger", node_id="notify")

    output = await run_node(
        "n8n.trigger", {"url": server.url(HOOK), "body": {"email": "ann@acme.test", "score": 7}}, ctx=ctx
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", HOOK)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["idempotency-key"] == f"fb-{ctx.execution_id}-notify"
    assert received.json() == {"email": "ann@acme.test", "score": 7}
    assert output == {"status": 200, "body": {"message": "Workflow was started"}}


@pytest.mark.parametrize(
    ("credential", "header", "value"),
    [
        ({"type": "header", "name": "X-N8N-Auth", "value": "s3cret"}, "x-n8n-auth", "s3cret"),
        ({"type": "basic", "username": "flow", "password": "pw"}, "authorization", "Basic Zmxvdzpwdw=="),
        ({"type": "bearer", "token": "jwt.token.here"}, "authorization", "Bearer jwt.token.here"),
    ],
)  # fmt: skip
async def test_authenticates_like_the_webhook_node(server, run_node, credential, header, value) -> None:
    server.route(HOOK, body="ok")

    output = await run_node(
        "n8n.trigger", {"url": server.url(HOOK), "credential": "hook"}, credentials={"hook": credential}
    )

    assert server.received[0].headers[header] == value
    assert output == {"status": 200, "body": "ok"}


async def test_get_sends_no_body_and_key_can_be_left_out(server, run_node) -> None:
    server.route(HOOK, body=[{"id": 1}])

    output = await run_node(
        "n8n.trigger",
        {"url": server.url(HOOK), "method": "GET", "body": {"ignored": True}, "send_idempotency_key": False},
    )

    [received] = server.received
    assert (received.method, received.body) == ("GET", b"")
    assert "idempotency-key" not in received.headers
    assert output["body"] == [{"id": 1}]


async def test_inactive_workflow_fails_for_good_with_n8n_message(server, run_node) -> None:
    message = 'The requested webhook "POST new-lead" is not registered.'
    server.route(HOOK, status=404, body={"code": 404, "message": message, "hint": "Activate the workflow"})

    with pytest.raises(NodeError, match="not registered") as failed:
        await run_node("n8n.trigger", {"url": server.url(HOOK)})

    assert not failed.value.retryable


async def test_wrong_webhook_credential_fails_for_good(server, run_node) -> None:
    server.route(HOOK, Reply(status=403, body="Authorization data is wrong!"))

    with pytest.raises(NodeError, match="Authorization data is wrong") as failed:
        await run_node(
            "n8n.trigger",
            {"url": server.url(HOOK), "credential": "hook"},
            credentials={"hook": {"type": "header", "name": "X-Key", "value": "bad"}},
        )

    assert not failed.value.retryable


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_n8n_outage_is_retryable(server, run_node, status) -> None:
    server.route(HOOK, status=status, body={"code": 0, "message": "Error in workflow"})

    with pytest.raises(NodeError, match="Error in workflow") as failed:
        await run_node("n8n.trigger", {"url": server.url(HOOK)})

    assert failed.value.retryable


async def test_slow_workflow_times_out_retryably(server, run_node) -> None:
    server.route(HOOK, Reply(body={}, delay_s=1.0))

    with pytest.raises(NodeError, match="timed out") as failed:
        await run_node("n8n.trigger", {"url": server.url(HOOK), "timeout_s": 0.2})

    assert failed.value.retryable


def test_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match="url must start with http"):
        TriggerConfig.model_validate({"url": "file:///etc/passwd"})
