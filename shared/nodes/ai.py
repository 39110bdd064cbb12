"""`ai.chat`: a chat completion from an OpenAI-compatible API (OpenAI, NVIDIA NIM, ...)."""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.registry import NodeType
from shared.nodes.service_call import ServiceError, ServiceReply, call_service, credential_of

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CONTENT_IN_ERRORS = 200


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"] = Field(description="Who speaks.", examples=["user"])
    content: str = Field(
        min_length=1, description="The text; templates allowed.", examples=["Summarise: {{ nodes.page.output.text }}"]
    )


class ChatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ai.chat")

    credential: str = Field(
        description="Name of an `openai` credential: api_key, and base_url for another OpenAI-compatible "
        "endpoint (e.g. https://integrate.api.nvidia.com/v1).",
        examples=["openai-main"],
    )
    model: str = Field(min_length=1, description="The model's name at that endpoint.", examples=["gpt-4o-mini"])
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation, oldest first: objects with role (system, developer, user, assistant) and "
        "content.",
        examples=[[{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": "Hi"}]],
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature; the service's default when unset.", examples=[0.2]
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most tokens the reply may have; the service's default when unset.",
        examples=[500],
    )
    json_output: bool = Field(
        default=False,
        description="Ask for a JSON object (response_format json_object) and return it parsed as `json`; "
        "the messages must say that JSON is wanted. The step fails when the reply is not a JSON object.",
        examples=[True],
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Time limit of each request; capped by the server's ai_timeout_s.",
        examples=[60],
    )


async def run_ai_chat(ctx: NodeContext, config: ChatConfig) -> dict[str, Any]:
    """Ask an OpenAI-compatible chat completions API for a reply: OpenAI, or any endpoint that speaks
    its protocol (NVIDIA's, a local server) through the credential's base_url. Returns the reply's
    `content`, the parsed `json` in JSON output mode, `finish_reason`, `model` and token `usage`.
    Tokens are charged as credits on top of the node's cost (1 credit per `ai_tokens_per_credit`
    tokens, rounded up). 429 and 5xx answers are tried again inside the step with exponential backoff,
    waiting as long as Retry-After asks (up to `ai_retry_max_wait_s`); other 4xx answers fail with the
    service's message. OpenAI documents no idempotency key for chat completions, so none is sent: a
    retried step may be billed twice by the service.
    """
    credential = await credential_of(ctx, config.credential, "openai", "ai.chat")
    base_url = (credential.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    headers = {"Authorization": f"Bearer {credential['api_key']}", "Accept": "application/json"}
    if credential.get("organization"):
        headers["OpenAI-Organization"] = credential["organization"]
    timeout_s = min(config.timeout_s or ctx.settings.ai_timeout_s, ctx.settings.ai_timeout_s)
    request = ctx.http.build_request(
        "POST", f"{base_url}/chat/completions", headers=headers, json=chat_body(config), timeout=timeout_s
    )
    reply = await _send_with_retries(ctx, request, timeout_s)
    completion = reply.json()
    if not isinstance(completion, dict):
        raise NodeError(f"ai.chat: the answer from {base_url} is not a JSON object", retryable=True)
    usage = _usage(completion)
    credits = math.ceil(usage["total_tokens"] / ctx.settings.ai_tokens_per_credit)
    ctx.charge(credits)
    ctx.log.info(f"{config.model}: {usage['total_tokens']} tokens, {credits} credits", **usage)
    content, finish_reason = _first_choice(completion)
    output: dict[str, Any] = {
        "content": content,
        "finish_reason": finish_reason,
        "model": completion.get("model", config.model),
        "id": completion.get("id"),
        "usage": usage,
        "credits": credits,
    }
    if config.json_output:
        output["json"] = _parse_json(content, finish_reason)
    return output


def chat_body(config: ChatConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"model": config.model, "messages": [m.model_dump() for m in config.messages]}
    if config.temperature is not None:
        body["temperature"] = config.temperature
    if config.max_tokens is not None:
        body["max_tokens"] = config.max_tokens
    if config.json_output:
        body["response_format"] = {"type": "json_object"}
    return body


async def _send_with_retries(ctx: NodeContext, request: Any, timeout_s: float) -> ServiceReply:
    """Tries again on 408, 429 and 5xx answers only; timeouts and connection failures are left to the
    step's retry policy (retrying them here could outlast the node's timeout)."""
    settings = ctx.settings
    for attempt in range(1, settings.ai_max_attempts + 1):
        try:
            return await call_service(ctx, request, service="ai.chat", timeout_s=timeout_s, read_error=openai_error)
        except ServiceError as exc:
            if not exc.retryable or exc.status is None or attempt == settings.ai_max_attempts:
                raise
            wait = exc.retry_after_s
            if wait is None:
                wait = settings.ai_retry_backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            if wait > settings.ai_retry_max_wait_s:
                raise
            ctx.log.warning(f"try {attempt} failed: {exc.message}; trying again in {wait:.2f} s", status=exc.status)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def openai_error(reply: ServiceReply) -> str | None:
    """OpenAI's `{"error": {"message": ...}}`; also `{"detail": ...}`, which some compatible servers send."""
    body = reply.json()
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code") or error.get("type")
        return f"{error['message']} ({code})" if isinstance(code, str) and code else error["message"]
    for key in ("error", "detail", "message"):
        if isinstance(body.get(key), str):
            return body[key]
    return None


def _usage(completion: dict[str, Any]) -> dict[str, int]:
    usage = completion.get("usage") if isinstance(completion.get("usage"), dict) else {}
    counts = {key: _count(usage.get(key)) for key in ("prompt_tokens", "completion_tokens")}
    total = _count(usage.get("total_tokens")) or counts["prompt_tokens"] + counts["completion_tokens"]
    return {**counts, "total_tokens": total}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _first_choice(completion: dict[str, Any]) -> tuple[str, str | None]:
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    message = choice.get("message") if choice else None
    if not isinstance(message, dict):
        raise NodeError("ai.chat: the answer has no choices[0].message", retryable=True)
    finish_reason = choice.get("finish_reason")
    content = message.get("content")
    if isinstance(content, str):
        return content, finish_reason
    if isinstance(message.get("refusal"), str):
        raise NodeError(f"ai.chat: the model refused: {message['refusal']}", retryable=False)
    raise NodeError(f"ai.chat: the reply has no text content (finish_reason {finish_reason!r})", retryable=True)


def _parse_json(content: str, finish_reason: str | None) -> Any:
    try:
        value = json.loads(content)
    except ValueError as exc:
        shown = content if len(content) <= CONTENT_IN_ERRORS else content[: CONTENT_IN_ERRORS - 1] + "…"
        hint = " (the reply was cut off at max_tokens)" if finish_reason == "length" else ""
        message = f"ai.chat: json_output is on but the model's reply is not JSON{hint}: {exc.msg}: {shown!r}"
        raise NodeError(message, retryable=True) from None
    return value


NODE_TYPES = (
    NodeType(name="ai.chat", config_model=ChatConfig, run=run_ai_chat, cost=1, lane="light", side_effects=False),
)
