"""The integration examples (examples/integrations) and docs/integrations.md stay true: every
workflow in them validates, and the triage example runs end to end against local servers speaking
OpenAI's, Twilio's and Slack's wire formats."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from shared.cli.files import load_workflow_file
from shared.cli.local_run import run_workflow_file
from shared.engine.validation import validate_definition
from shared.nodes import default_registry
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "integrations").glob("*.json"))
DOC = REPO / "docs" / "integrations.md"
MY_TYPES = {"ai.chat", "email.send", "sms.send", "slack.post"}


def test_there_are_at_least_three_integration_examples_using_every_node() -> None:
    used = {node["type"] for path in EXAMPLES for node in load_workflow_file(path).definition["nodes"]}

    assert len(EXAMPLES) >= 3
    assert used >= MY_TYPES


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_example_validates(example: Path) -> None:
    workflow = load_workflow_file(example)

    _, issues = validate_definition(workflow.definition, default_registry())

    assert issues == []
    assert workflow.description


def test_every_node_in_the_docs_validates() -> None:
    snippets = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)]
    nodes = [snippet for snippet in snippets if snippet.get("type") in MY_TYPES]

    page = {"id": "page", "type": "text.combine", "config": {"parts": ["<html>"]}}  # what the ai.chat one reads
    edges = [{"from": "page", "to": node["id"]} for node in nodes]

    _, issues = validate_definition({"nodes": [page, *nodes], "edges": edges}, default_registry())

    assert {node["type"] for node in nodes} == MY_TYPES
    assert issues == []


def credentials_for(server) -> dict:
    return {
        "openai-main": {"type": "openai", "api_key": "sk-test", "base_url": server.url("/v1")},
        "twilio-main": {"type": "twilio", "account_sid": "AC1", "auth_token": "tok", "base_url": server.url()},
        "slack-support": {"type": "slack_webhook", "url": server.url("/services/T/B/secret")},
    }


def classification(urgent: bool) -> dict:
    content = json.dumps({"urgent": urgent, "topic": "outage", "summary": "The dashboard is down."})
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 90, "completion_tokens": 20, "total_tokens": 110},
    }


@pytest.mark.parametrize("urgent", [True, False])
async def test_the_triage_example_pages_or_posts(server, tmp_path, urgent: bool) -> None:
    server.route("/v1/chat/completions", body=classification(urgent))
    server.route("/2010-04-01/Accounts/AC1/Messages.json", status=201, body={"sid": "SM1", "status": "queued"})
    server.route("/services/T/B/secret", body="ok")
    workflow = load_workflow_file(REPO / "examples" / "integrations" / "triage-support-message.json")
    settings = Settings(data_dir=tmp_path, egress_allow_private=True)

    outcome = await run_workflow_file(
        workflow, {"customer": "Acme", "message": "Nothing loads!"}, settings, credentials=credentials_for(server)
    )

    assert outcome.status == "succeeded", outcome.error
    asked = server.received[0].json()
    assert asked["response_format"] == {"type": "json_object"}
    assert asked["messages"][1] == {"role": "user", "content": "From Acme: Nothing loads!"}
    assert outcome.steps["classify"].credits == 1 + 1  # the node, and 110 tokens
    sent = [received for received in server.received[1:]]
    assert len(sent) == 1
    if urgent:
        assert sent[0].path == "/2010-04-01/Accounts/AC1/Messages.json"
        assert parse_qs(sent[0].body.decode())["Body"] == ["URGENT (outage) from Acme: The dashboard is down."]
        assert outcome.steps["post_to_channel"].status == "skipped"
    else:
        assert sent[0].json() == {"text": "New outage message from Acme: The dashboard is down."}
        assert outcome.steps["page_on_call"].status == "skipped"
