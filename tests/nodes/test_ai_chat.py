"""`ai.chat` against a local server speaking OpenAI's chat completions protocol."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session

from shared.db.crud import create_workflow, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import CreditLedgerEntry, User
from shared.engine.errors import NodeError
from shared.engine.runner import WorkflowRunner
from shared.nodes.ai import ChatConfig
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider
from tests.support.http_server import Received, Reply

FAST = Settings(egress_allow_private=True, ai_retry_backoff_s=0.01)


def completion(content: str = "Hello!", *, total: int = 1500, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": total - 10, "completion_tokens": 10, "total_tokens": total},
    }


def openai_credential(server, **extra) -> dict:
    return {"credentials": {"llm": {"type": "openai", "api_key": "sk-test", "base_url": server.url("/v1"), **extra}}}


def chat(**overrides) -> dict:
    return {"credential": "llm", "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], **overrides}


def sequence(*replies: Reply):
    """A route answering each request with the next reply, the last one repeating."""
    queue = list(replies)

    def answer(_: Received) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


async def test_sends_the_chat_completions_request(server, run_node) -> None:
    server.route("/v1/chat/completions", body=completion())
    config = chat(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        temperature=0.2,
        max_tokens=50,
    )

    await run_node("ai.chat", config, **openai_credential(server, organization="org-1"))

    [received] = server.received
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.headers["authorization"] == "Bearer sk-test"
    assert received.headers["openai-organization"] == "org-1"
    assert received.headers["content-type"] == "application/json"
    assert "idempotency-key" not in received.headers
    assert received.json() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "max_tokens": 50,
    }


async def test_returns_content_usage_and_charges_tokens(server, run_node, make_context) -> None:
    server.route("/v1/chat/completions", body=completion("Hello!", total=1500))
    ctx = make_context("ai.chat", **openai_credential(server))

    output = await run_node("ai.chat", chat(), ctx=ctx)

    assert output["content"] == "Hello!"
    assert output["finish_reason"] == "stop"
    assert output["model"] == "gpt-4o-mini-2024-07-18"
    assert output["usage"] == {"prompt_tokens": 1490, "completion_tokens": 10, "total_tokens": 1500}
    assert output["credits"] == 2  # 1500 tokens at 1 credit per 1000, rounded up
    assert ctx.extra_credits == 2
    assert "json" not in output


async def test_json_output_asks_for_a_json_object_and_parses_it(server, run_node) -> None:
    server.route("/v1/chat/completions", body=completion('{"sentiment": "positive", "score": 0.9}'))

    output = await run_node("ai.chat", chat(json_output=True), **openai_credential(server))

    assert server.received[0].json()["response_format"] == {"type": "json_object"}
    assert output["json"] == {"sentiment": "positive", "score": 0.9}


async def test_json_output_that_is_not_json_fails_clearly_but_is_still_charged(server, run_node, make_context) -> None:
    server.route("/v1/chat/completions", body=completion("Sure! Here it is: {", total=200, finish="length"))
    ctx = make_context("ai.chat", **openai_credential(server))

    with pytest.raises(NodeError, match=re.escape("not JSON (the reply was cut off at max_tokens)")) as caught:
        await run_node("ai.chat", chat(json_output=True), ctx=ctx)

    assert "Sure! Here it is" in caught.value.message
    assert ctx.extra_credits == 1


async def test_nvidia_style_base_url_without_organization(server, run_node) -> None:
    server.route("/nim/v1/chat/completions", body=completion())
    credential = {"type": "openai", "api_key": "nvapi-x", "base_url": server.url("/nim/v1")}

    await run_node("ai.chat", chat(model="meta/llama-3.1-8b-instruct"), credentials={"llm": credential})

    [received] = server.received
    assert received.headers["authorization"] == "Bearer nvapi-x"
    assert "openai-organization" not in received.headers


async def test_429_is_retried_honouring_retry_after(server, run_node, make_context) -> None:
    limited = Reply(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "0"})
    server.route("/v1/chat/completions", sequence(limited, Reply(200, completion("late"))))
    ctx = make_context("ai.chat", settings=FAST, **openai_credential(server))

    output = await run_node("ai.chat", chat(), ctx=ctx)

    assert output["content"] == "late"
    assert len(server.received) == 2
    assert any("Rate limit reached" in message and "trying again" in message for message in make_context.messages())


async def test_5xx_is_retried_then_fails_retryably(server, run_node) -> None:
    server.route("/v1/chat/completions", status=503, body={"error": {"message": "The engine is overloaded"}})

    with pytest.raises(NodeError, match="HTTP 503: The engine is overloaded") as caught:
        await run_node("ai.chat", chat(), settings=FAST, **openai_credential(server))

    assert caught.value.retryable
    assert len(server.received) == FAST.ai_max_attempts


async def test_retry_after_longer_than_the_cap_is_not_waited_for(server, run_node) -> None:
    server.route(
        "/v1/chat/completions", status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "120"}
    )

    with pytest.raises(NodeError, match="Retry-After: 120s") as caught:
        await run_node("ai.chat", chat(), settings=FAST, **openai_credential(server))

    assert caught.value.retryable
    assert len(server.received) == 1


async def test_4xx_fails_at_once_with_openais_message(server, run_node) -> None:
    error = {"error": {"message": "Incorrect API key provided: sk-test.", "type": "invalid_request_error",
                       "code": "invalid_api_key"}}  # fmt: skip
    server.route("/v1/chat/completions", status=401, body=error)

    with pytest.raises(
        NodeError, match=re.escape("HTTP 401: Incorrect API key provided: sk-test. (invalid_api_key)")
    ) as caught:
        await run_node("ai.chat", chat(), settings=FAST, **openai_credential(server))

    assert not caught.value.retryable
    assert len(server.received) == 1


async def test_connection_refused_is_retryable(run_node) -> None:
    credential = {"type": "openai", "api_key": "sk", "base_url": "http://127.0.0.1:9/v1"}

    with pytest.raises(NodeError, match="ConnectError") as caught:
        await run_node("ai.chat", chat(), credentials={"llm": credential})

    assert caught.value.retryable


async def test_egress_guard_applies(server, run_node) -> None:
    server.route("/v1/chat/completions", body=completion())

    with pytest.raises(NodeError, match=re.escape("refused: 127.0.0.1 is loopback")) as caught:
        await run_node("ai.chat", chat(), settings=Settings(), **openai_credential(server))

    assert not caught.value.retryable
    assert server.received == []


async def test_a_credential_of_another_type_is_refused(run_node) -> None:
    with pytest.raises(NodeError, match="needs a 'openai' credential"):
        await run_node("ai.chat", chat(), credentials={"llm": {"type": "bearer", "token": "x"}})


def test_config_names_bad_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        ChatConfig.model_validate(chat(messages=[], temperature=3))

    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"messages", "temperature"}


async def test_token_credits_are_added_to_the_step_and_charged_to_the_owner(server, engine, settings) -> None:
    server.route("/v1/chat/completions", body=completion("Hi Ada", total=2500))
    definition = {
        "nodes": [
            {
                "id": "ask",
                "type": "ai.chat",
                "config": chat(messages=[{"role": "user", "content": "Greet {{ input.name }}"}]),
            }
        ],
        "edges": [],
    }
    with Session(engine) as session:
        owner = User(kind="user", credits=100)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "ask", definition)
        execution = queue_execution(session, workflow, trigger="manual", input={"name": "Ada"})
        session.commit()
        owner_id, execution_id = owner.id, execution.id
    store = SqlExecutionStore(engine)
    assert store.claim(execution_id, "test")
    credentials = InMemoryCredentialProvider(openai_credential(server)["credentials"])

    outcome = await WorkflowRunner(store, settings=settings, credentials=credentials).run(execution_id)

    assert outcome.status == "succeeded", outcome.error
    assert json.loads(server.received[0].body)["messages"] == [{"role": "user", "content": "Greet Ada"}]
    assert outcome.steps["ask"].credits == 1 + 3  # the node's cost, and 2500 tokens rounded up
    assert outcome.credits_used == 4
    with Session(engine) as session:
        balance = session.execute(sa.select(User.credits).where(User.id == owner_id)).scalar_one()
        charged = session.execute(
            sa.select(CreditLedgerEntry.delta).where(CreditLedgerEntry.execution_id == execution_id)
        ).scalars()
        assert balance == 96
        assert list(charged) == [-4]
