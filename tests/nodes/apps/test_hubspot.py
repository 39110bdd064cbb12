"""`hubspot.upsert_contact` against a local server speaking HubSpot's CRM v3 wire format."""

from __future__ import annotations

import pytest

from shared.engine.errors import NodeError
from tests.support.http_server import Reply

UPSERT = "/crm/v3/objects/contacts/batch/upsert"


@pytest.fixture
def hubspot(server):
    return {"hubspot": {"type": "hubspot", "token": "pat-na1-secret", "base_url": server.url("/")}}


def upserted(new: bool) -> dict:
    return {
        "status": "COMPLETE",
        "results": [
            {
                "id": "5101",
                "new": new,
                "properties": {"email": "ann@example.com", "firstname": "Ann"},
                "updatedAt": "2026-11-24T03:00:00.000Z",
            }
        ],
        "startedAt": "2026-11-24T03:00:00.000Z",
        "completedAt": "2026-11-24T03:00:00.100Z",
    }


async def test_upserts_by_email_with_bearer_token(server, run_node, hubspot) -> None:
    server.route(UPSERT, body=upserted(new=True))

    output = await run_node(
        "hubspot.upsert_contact",
        {
            "credential": "hubspot",
            "email": "ann@example.com",
            "properties": {"firstname": "Ann", "employees": 12, "vip": True, "phone": None},
        },
        credentials=hubspot,
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", UPSERT)
    assert received.headers["authorization"] == "Bearer pat-na1-secret"
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {
        "inputs": [
            {
                "idProperty": "email",
                "id": "ann@example.com",
                "properties": {
                    "firstname": "Ann",
                    "employees": "12",
                    "vip": "true",
                    "phone": "",
                    "email": "ann@example.com",
                },
            }
        ]
    }
    assert output == {
        "id": "5101",
        "created": True,
        "properties": {"email": "ann@example.com", "firstname": "Ann"},
        "updated_at": "2026-11-24T03:00:00.000Z",
    }


async def test_existing_contact_is_reported_as_updated(server, run_node, hubspot) -> None:
    server.route(UPSERT, body=upserted(new=False))

    output = await run_node(
        "hubspot.upsert_contact", {"credential": "hubspot", "email": "ann@example.com"}, credentials=hubspot
    )

    assert output["created"] is False


async def test_base_url_path_prefix_is_kept(server, run_node) -> None:
    server.route("/proxy" + UPSERT, body=upserted(new=True))
    credentials = {"hs": {"type": "hubspot", "token": "t", "base_url": server.url("/proxy/")}}

    await run_node("hubspot.upsert_contact", {"credential": "hs", "email": "a@b.c"}, credentials=credentials)

    assert server.received[0].path == "/proxy" + UPSERT


async def test_validation_error_fails_for_good_with_hubspot_message(server, run_node, hubspot) -> None:
    error = {
        "status": "error",
        "message": 'Property values were not valid: "lifecyclestage" is not a valid option',
        "correlationId": "8c1e",
        "category": "VALIDATION_ERROR",
    }
    server.route(UPSERT, status=400, body=error)

    with pytest.raises(NodeError) as failed:
        await run_node(
            "hubspot.upsert_contact",
            {"credential": "hubspot", "email": "ann@example.com", "properties": {"lifecyclestage": "x"}},
            credentials=hubspot,
        )

    assert not failed.value.retryable
    assert "HTTP 400" in failed.value.message
    assert '"lifecyclestage" is not a valid option (VALIDATION_ERROR)' in failed.value.message


async def test_multi_status_errors_fail_the_step(server, run_node, hubspot) -> None:
    body = {
        "status": "COMPLETE",
        "results": [],
        "numErrors": 1,
        "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Email address is invalid"}],
    }
    server.route(UPSERT, status=207, body=body)

    with pytest.raises(NodeError, match=r"did not upsert ann@example\.com: Email address is invalid") as failed:
        await run_node(
            "hubspot.upsert_contact", {"credential": "hubspot", "email": "ann@example.com"}, credentials=hubspot
        )

    assert not failed.value.retryable


async def test_rate_limit_is_retryable_and_names_retry_after(server, run_node, hubspot) -> None:
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "category": "RATE_LIMITS",
    }
    server.route(UPSERT, Reply(status=429, body=body, headers={"Retry-After": "10"}))

    with pytest.raises(NodeError, match=r"HTTP 429 \(Retry-After: 10s\): You have reached") as failed:
        await run_node("hubspot.upsert_contact", {"credential": "hubspot", "email": "a@b.c"}, credentials=hubspot)

    assert failed.value.retryable


async def test_expired_token_fails_for_good(server, run_node, hubspot) -> None:
    body = {"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}
    server.route(UPSERT, status=401, body=body)

    with pytest.raises(NodeError, match="Authentication credentials not found") as failed:
        await run_node("hubspot.upsert_contact", {"credential": "hubspot", "email": "a@b.c"}, credentials=hubspot)

    assert not failed.value.retryable


async def test_credential_of_another_type_is_refused(server, run_node) -> None:
    with pytest.raises(NodeError, match=r"has type 'bearer'; hubspot\.upsert_contact needs a 'hubspot' credential"):
        await run_node(
            "hubspot.upsert_contact",
            {"credential": "c", "email": "a@b.c"},
            credentials={"c": {"type": "bearer", "token": "t"}},
        )

    assert server.received == []


async def test_credential_missing_its_token_fails_for_good(server, run_node) -> None:
    with pytest.raises(NodeError, match=r"credential 'c': values\.token: Field required") as failed:
        await run_node(
            "hubspot.upsert_contact",
            {"credential": "c", "email": "a@b.c"},
            credentials={"c": {"type": "hubspot", "base_url": server.url("/")}},
        )

    assert not failed.value.retryable
    assert server.received == []


def test_email_must_look_like_one() -> None:
    from pydantic import ValidationError

    from shared.nodes.hubspot import UpsertContactConfig

    with pytest.raises(ValidationError, match="email"):
        UpsertContactConfig.model_validate({"credential": "c", "email": "not an email"})
