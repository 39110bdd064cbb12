"""Credential values never reach storage or the API: a workflow echoes a secret back through HTTP
bodies, templates, logs and error messages, and every stored row and API response is scanned."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session

from api.app import create_app
from api.services import AppServices
from shared.db.models import Execution, ExecutionEvent, StepRun
from shared.engine.redaction import MASK, Redactor
from shared.identity.api_keys import issue_api_key
from shared.nodes.registry import NodeType
from shared.queue.inprocess import InProcessQueue
from shared.vault import InMemoryCredentialProvider
from shared.vault.local import LocalBackend
from shared.vault.store import CredentialVault
from tests.support.http_server import Received, Reply

SECRET = "s3cr3t/Tok+en=value&more"
"""Has characters that URL-encoding and base64 change, so the wire forms differ from the value."""
PASSWORD = "hunter2-but-longer"
USERNAME = "robot-user"


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode()}


FORBIDDEN = forms(SECRET) | forms(PASSWORD) | {base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}


def leaked(text: str) -> set[str]:
    return {form for form in FORBIDDEN if form in text}


CREDENTIALS = {
    "api-header": {"type": "header", "name": "X-Api-Key", "value": SECRET},
    "api-query": {"type": "query", "name": "api_key", "value": SECRET},
    "api-basic": {"type": "basic", "username": USERNAME, "password": PASSWORD},
}


class LeakConfig(BaseModel):
    credential: str


def leaky_node() -> NodeType:
    async def leak(ctx, config: LeakConfig) -> Any:
        """Logs and returns a credential's values, as a careless integration might."""
        values = await ctx.credential(config.credential)
        ctx.log.info(f"using {values}", values=values)
        return {"values": values}

    return NodeType("test.leak", LeakConfig, leak, cost=0)


def echo(received: Received) -> Reply:
    return Reply(
        body={
            "header": received.headers.get("x-api-key"),
            "query": received.query.get("api_key"),
            "authorization": received.headers.get("authorization"),
            "raw_path": received.path,
        }
    )


def reject(received: Received) -> Reply:
    return Reply(status=400, body=f"invalid key {received.headers.get('x-api-key')} for this account")


def definition(server, *, failing: bool) -> dict[str, Any]:
    nodes = [
        {"id": "by_header", "type": "http.request", "config": {"url": server.url("/echo"), "credential": "api-header"}},
        {
            "id": "by_query",
            "type": "http.request",
            "config": {"url": server.url("/echo"), "credential": "api-query", "query": {"q": "x"}},
        },
        {"id": "by_basic", "type": "http.request", "config": {"url": server.url("/echo"), "credential": "api-basic"}},
        {"id": "leak", "type": "test.leak", "config": {"credential": "api-basic"}},
        {
            "id": "mapped",
            "type": "data.map",
            "config": {
                "fields": {
                    "header": "{{ nodes.by_header.output.body.header }}",
                    "query": "{{ nodes.by_query.output.body.query[0] }}",
                    "sentence": "the key is {{ nodes.by_header.output.body.header }}!",
                    "auth": "{{ nodes.by_basic.output.body.authorization }}",
                    "url": "{{ nodes.by_query.output.url }}",
                }
            },
        },
    ]
    edges = [{"from": source, "to": "mapped"} for source in ("by_header", "by_query", "by_basic", "leak")]
    if failing:
        nodes.append(
            {
                "id": "rejected",
                "type": "http.request",
                "config": {"url": server.url("/reject"), "credential": "api-header"},
            }
        )
        edges.append({"from": "mapped", "to": "rejected"})
    return {"nodes": nodes, "edges": edges}


def stored_rows(engine, execution_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every stored row of the execution, with every column."""
    with engine.connect() as conn:
        rows = []
        for table in (Execution.__table__, StepRun.__table__, ExecutionEvent.__table__):
            key = table.c.id if table is Execution.__table__ else table.c.execution_id
            rows += [dict(row) for row in conn.execute(sa.select(table).where(key == execution_id)).mappings()]
        return rows


def api_responses(harness, execution_id: uuid.UUID) -> list[str]:
    with Session(harness.engine) as session:
        owner_id = session.get(Execution, execution_id).owner_id
        key = issue_api_key(session, owner_id, "scan", "read").key
        session.commit()
    services = AppServices(harness.settings, dispatcher=InProcessQueue(), _engine=harness.engine)
    client = TestClient(create_app(harness.settings, services), headers={"Authorization": f"Bearer {key}"})
    responses = [
        client.get(f"/api/executions/{execution_id}"),
        client.get(f"/api/executions/{execution_id}/events"),
        client.get(f"/api/executions/{execution_id}/stream"),
        client.get("/api/executions"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
    return [response.text for response in responses]


@pytest.fixture
def echo_server(server):
    server.route("/echo", echo)
    server.route("/reject", reject)
    return server


async def run_with(harness, echo_server, provider_kind: str, *, failing: bool, tmp_path):
    harness.registry.add(leaky_node())
    execution_id = harness.queue(definition(echo_server, failing=failing))
    if provider_kind == "vault":
        with Session(harness.engine) as session:
            owner_id = session.get(Execution, execution_id).owner_id
        vault = CredentialVault(harness.engine, LocalBackend(tmp_path / "vault.key"))
        for name, values in CREDENTIALS.items():
            vault.create(owner_id, name, values["type"], {k: v for k, v in values.items() if k != "type"})
        harness.credentials = vault
    else:
        harness.credentials = InMemoryCredentialProvider(CREDENTIALS)
    assert harness.store.claim(execution_id, "test-worker")
    outcome = await harness.runner().run(execution_id)
    return execution_id, outcome


@pytest.mark.parametrize("provider_kind", ["memory", "vault"])
async def test_a_failing_run_stores_and_returns_no_secret(harness, echo_server, provider_kind, tmp_path):
    execution_id, outcome = await run_with(harness, echo_server, provider_kind, failing=True, tmp_path=tmp_path)

    assert outcome.status == "failed"
    assert "HTTP 400" in outcome.error and MASK in outcome.error
    sent = [r for r in echo_server.received if r.path == "/echo"]
    assert any(r.headers.get("x-api-key") == SECRET for r in sent)  # the secret really went out
    assert any(r.query.get("api_key") == [SECRET] for r in sent)
    rows = stored_rows(harness.engine, execution_id)
    text = json.dumps(rows, default=str)
    assert MASK in text
    assert leaked(text) == set()
    for response in api_responses(harness, execution_id):
        assert leaked(response) == set()
    assert leaked(json.dumps([outcome.error, outcome.output], default=str)) == set()


@pytest.mark.parametrize("provider_kind", ["memory", "vault"])
async def test_a_succeeding_run_stores_and_returns_no_secret(harness, echo_server, provider_kind, tmp_path):
    execution_id, outcome = await run_with(harness, echo_server, provider_kind, failing=False, tmp_path=tmp_path)

    assert outcome.status == "succeeded", outcome.error
    mapped = outcome.output["mapped"]
    assert mapped["header"] == MASK and mapped["query"] == MASK and mapped["sentence"] == f"the key is {MASK}!"
    assert mapped["auth"] == f"Basic {MASK}"
    rows = stored_rows(harness.engine, execution_id)
    execution_row = next(row for row in rows if row.get("workflow_id"))
    assert execution_row["output"]["mapped"]["header"] == MASK
    assert leaked(json.dumps(rows, default=str)) == set()
    for response in api_responses(harness, execution_id):
        assert leaked(response) == set()
    assert leaked(json.dumps([outcome.output, {k: s.output for k, s in outcome.steps.items()}], default=str)) == set()


async def test_a_run_without_credentials_is_untouched(harness):
    outcome = await harness.run({"nodes": [{"id": "a", "type": "test.echo", "config": {"word": "hunter2-but-longer"}}]})

    assert outcome.output == {"a": {"word": "hunter2-but-longer"}}


# The Redactor itself


def test_an_empty_redactor_returns_the_very_same_value():
    redactor = Redactor()
    value = {"a": [SECRET]}

    assert redactor(value) is value
    assert not redactor.active


def test_values_and_their_wire_forms_are_masked_anywhere():
    redactor = Redactor()
    redactor.register(SECRET)

    value = {"k": [f"x{SECRET}y", quote(SECRET, safe=""), {"deep": quote_plus(SECRET)}], SECRET: 1, "n": 5}

    assert redactor(value) == {"k": [f"x{MASK}y", MASK, {"deep": MASK}], MASK: 1, "n": 5}


def test_basic_auth_pair_is_masked_in_base64():
    redactor = Redactor()
    redactor.register_credential({"type": "basic", "username": USERNAME, "password": PASSWORD})
    header = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    assert redactor(header) == f"Basic {MASK}"


def test_short_values_type_and_public_fields_are_not_masked():
    redactor = Redactor()
    redactor.register_credential({"type": "header", "name": "X-Api-Key", "value": "abc"})
    redactor.register_credential(
        {
            "type": "smtp",
            "host": "smtp.example.com",
            "port": 587,
            "username": "mailer",
            "password": PASSWORD,
            "security": "starttls",
        }
    )

    assert redactor("X-Api-Key abc header smtp.example.com 587 starttls") == (
        "X-Api-Key abc header smtp.example.com 587 starttls"
    )
    assert redactor(f"mailer:{PASSWORD}") == f"{MASK}:{MASK}"


def test_public_fields_name_real_fields_of_real_credential_types():
    from shared.engine.redaction import PUBLIC_FIELDS
    from shared.vault.types import CREDENTIAL_TYPES

    for type_name, fields in PUBLIC_FIELDS.items():
        assert type_name in CREDENTIAL_TYPES, type_name
        assert fields <= set(CREDENTIAL_TYPES[type_name].model_fields), (type_name, fields)
