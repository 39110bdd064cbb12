"""Every operation of the OpenAPI, fuzzed with a real API key on both databases: no 5xx, and every
response has a status code and a body the OpenAPI declares for it.

The schema is read at collection from an app built without a database (the OpenAPI does not
depend on one; `schemathesis.pytest.from_fixture` would read it per test, but on pytest 9.2 it fails
on `Node._nodeid`); each case is then sent to the test's own app, on SQLite or PostgreSQL. So that
fuzzing gets past the 404 of an unknown id, the caller owns a few rows (`known_rows`) and the hooks
below often swap their ids into path parameters and `workflow_id` filters, and valid definitions,
cron lines and credential values into bodies.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlmodel import Session

from api.app import create_app
from api.routes.webhooks import token_hash
from api.services import AppServices
from shared.artifacts import artifact_store
from shared.db.crud import create_workflow, queue_execution
from shared.db.models import ExecutionEvent, StepRun
from shared.db.types import utcnow
from shared.db.workflow_crud import append_version, save_schedule
from shared.identity.api_keys import issue_api_key
from shared.settings import Settings
from shared.starters import load_starters

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = int(os.environ.get("FLOWBUILDER_FUZZ_EXAMPLES", "25"))
"""25 keeps this file near a minute for both databases; raise it for a deeper hunt."""
GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}
VALID_BODY_FIELDS: dict[str, list[object]] = {
    "definition": [GREET],
    "cron": ["*/5 * * * *", "@daily"],
    "timezone": ["Europe/Berlin"],
    "type": ["bearer"],
    "values": [{"token": "fuzzed-secret"}],
}
"""Random definitions, cron lines and credential values are (almost) never valid: with these,
creating, importing, scheduling and storing credentials get past validation too."""

schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(Settings(), AppServices(Settings()))).exclude(
    path="/api/executions/{execution_id}/stream"  # never ends on its own; tests/api/test_events.py covers it
)

KNOWN: dict[str, list[object]] = {}
"""Parameter or body field name -> values the hooks may use instead of the generated one: ids of
rows the current test's caller owns, and valid field values (set by `known_rows`)."""


def _sometimes_known(parameters: dict[str, object] | None) -> st.SearchStrategy[dict[str, object] | None]:
    if not parameters:
        return st.just(parameters)
    return st.fixed_dictionaries(
        {name: st.sampled_from([value, *KNOWN.get(name, [])]) for name, value in parameters.items()}
    )


@schema.hook
def flatmap_path_parameters(_context, path_parameters):
    return _sometimes_known(path_parameters)


@schema.hook
def flatmap_query(_context, query):
    return _sometimes_known(query)


@schema.hook
def flatmap_body(_context, body):
    return _sometimes_known(body) if isinstance(body, dict) else st.just(body)


def _seed(engine, services: AppServices, owner_id: uuid.UUID) -> dict[str, list[object]]:
    """An active workflow (two versions, a schedule, a webhook), an archived one, executions that
    succeeded (with a step, events and an artifact), failed and are still queued, and a second API
    key (revoking it leaves the caller's own working)."""
    token = "wh_" + secrets.token_urlsafe(16)
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        active, _ = create_workflow(session, owner_id, "fuzzed", GREET, status="active")
        append_version(session, active, {"nodes": [{"id": "two", "type": "text.combine", "config": {"parts": ["2"]}}]})
        save_schedule(
            session, active, cron="0 9 * * 1-5", timezone="UTC", misfire_policy="skip", enabled=True, next_run_at=now
        )
        active.webhook_token_hash = token_hash(token)
        archived, _ = create_workflow(session, owner_id, "archived", GREET, status="archived")
        succeeded, failed, queued = (queue_execution(session, active, trigger="api", version=1) for _ in range(3))
        for execution, status in ((succeeded, "succeeded"), (failed, "failed")):
            execution.status, execution.started_at, execution.finished_at = status, now - timedelta(seconds=2), now
            session.add(StepRun(execution_id=execution.id, node_id="greet", node_type="text.combine", status=status))
            session.add(ExecutionEvent(execution_id=execution.id, seq=1, type="run_started", payload={}))
            session.add(ExecutionEvent(execution_id=execution.id, seq=2, type="run_finished", payload={}))
        succeeded.output = {"text": "hi"}
        spare_key = issue_api_key(session, owner_id, "spare", "read").record
        session.commit()
    artifact = artifact_store(services.settings, engine).put(
        owner_id, succeeded.id, "greet", "output", "text/plain", b"hi"
    )
    return {
        "workflow_id": [active.id, archived.id],
        "execution_id": [succeeded.id, failed.id, queued.id],
        "artifact_id": [artifact.id],
        "version": [1, 2],
        "token": [token],
        "template_id": [starter.id for starter in load_starters()[:2]],
        "key_id": [spare_key.id],
        **VALID_BODY_FIELDS,
    }


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A few hundred requests per operation would run into the rate limits, and 429s teach nothing."""
    return settings.model_copy(update={"rate_limit_enabled": False})


@pytest.fixture
def known_rows(engine, services, caller):
    KNOWN.update(_seed(engine, services, caller.user_id))
    response = caller.client.post(
        "/api/credentials", json={"name": "fuzzed", "type": "bearer", "values": {"token": "t"}}
    )
    assert response.status_code == 201, response.text
    KNOWN["name"] = ["fuzzed"]
    yield KNOWN
    KNOWN.clear()


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_every_operation_answers_without_server_errors_and_as_documented(case, app, caller, known_rows):
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # the long poll would otherwise hold each case for up to 25 s
    case.call_and_validate(app=app, headers=caller.headers(), checks=CHECKS)
