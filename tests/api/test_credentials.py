"""Stored credentials over HTTP: write-only values, typed validation, owner isolation."""

from __future__ import annotations

import base64
from urllib.parse import quote

import boto3
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import AppServices
from shared.queue.inprocess import InProcessQueue
from tests.api.conftest import make_user
from tests.vault.moto_server import REGION, fake_aws_environment, moto_server

SECRET = "sk-live-0123456789abcdef"
OTHER_SECRET = "sk-rotated-fedcba9876543210"
BEARER = {"name": "github", "type": "bearer", "values": {"token": SECRET}}


def leaks(text: str, *secrets: str) -> list[str]:
    """Every form of the secrets that shows up in a response body or its headers."""
    found = []
    for secret in secrets:
        for form in (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(), secret[:8]):
            if form in text:
                found.append(form)
    return found


def all_text(response) -> str:
    return response.text + " " + " ".join(f"{name}: {value}" for name, value in response.headers.items())


def test_create_returns_201_without_the_values(caller):
    response = caller.client.post("/api/credentials", json=BEARER)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"name", "type", "backend", "created_at", "updated_at"}
    assert (body["name"], body["type"], body["backend"]) == ("github", "bearer", "local")
    assert response.headers["location"].endswith("/credentials/github")
    assert not leaks(all_text(response), SECRET)


def test_values_never_come_back_from_any_route(caller):
    responses = [
        caller.client.post("/api/credentials", json=BEARER),
        caller.client.post("/api/credentials", json=BEARER),  # 409
        caller.client.get("/api/credentials"),
        caller.client.get("/api/credentials/github"),
        caller.client.put("/api/credentials/github", json={"values": {"token": OTHER_SECRET}}),
        caller.client.put("/api/credentials/github", json={"values": {"token": OTHER_SECRET, "extra": SECRET}}),
        caller.client.put("/api/credentials/github", json={"values": {"token": 12}}),
        caller.client.get("/api/credentials/github"),
        caller.client.get("/api/credentials"),
        caller.client.delete("/api/credentials/github"),
        caller.client.get("/api/credentials/github"),
    ]
    assert [r.status_code for r in responses] == [201, 409, 200, 200, 200, 422, 422, 200, 200, 204, 404]
    for response in responses:
        assert not leaks(all_text(response), SECRET, OTHER_SECRET), response.text


def test_list_shows_names_types_and_times(caller):
    caller.client.post("/api/credentials", json=BEARER)
    caller.client.post(
        "/api/credentials", json={"name": "mail", "type": "basic", "values": {"username": "me", "password": SECRET}}
    )

    body = caller.client.get("/api/credentials").json()

    assert body["count"] == 2
    assert [(item["name"], item["type"]) for item in body["data"]] == [("github", "bearer"), ("mail", "basic")]
    assert all(set(item) == {"name", "type", "backend", "created_at", "updated_at"} for item in body["data"])


def test_duplicate_name_is_409(caller):
    caller.client.post("/api/credentials", json=BEARER)

    response = caller.client.post("/api/credentials", json=BEARER)

    assert response.status_code == 409
    assert "github" in response.json()["error"]["message"]


def test_unknown_type_is_422_naming_the_type_field(caller):
    response = caller.client.post("/api/credentials", json={"name": "x", "type": "oauth9", "values": {"a": SECRET}})

    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert details[0]["field"] == "type"
    assert "oauth9" in details[0]["message"] and "bearer" in details[0]["message"]


@pytest.mark.parametrize(
    ("type_", "values", "fields"),
    [
        ("bearer", {}, {"values.token"}),
        ("bearer", {"token": ""}, {"values.token"}),
        ("basic", {"username": "me"}, {"values.password"}),
        ("header", {"name": "X-Key"}, {"values.value"}),
        ("query", {"value": SECRET}, {"values.name"}),
        ("smtp", {"host": "smtp.example.com", "port": 70000, "username": "me", "password": SECRET}, {"values.port"}),
        (
            "smtp",
            {"host": "smtp.example.com", "port": 587, "username": "me", "password": SECRET, "security": "tls"},
            {"values.security"},
        ),
        ("api_key", {"key": SECRET, "token": SECRET}, {"values.token"}),
    ],
)
def test_values_are_validated_by_type(caller, type_, values, fields):
    response = caller.client.post("/api/credentials", json={"name": "c", "type": type_, "values": values})

    assert response.status_code == 422, response.text
    assert {detail["field"] for detail in response.json()["error"]["details"]} == fields
    assert not leaks(all_text(response), SECRET)


def test_every_type_is_accepted_with_valid_values(caller):
    valid = {
        "bearer": {"token": SECRET},
        "basic": {"username": "me", "password": SECRET},
        "header": {"name": "X-Api-Key", "value": SECRET},
        "query": {"name": "api_key", "value": SECRET},
        "smtp": {"host": "smtp.example.com", "port": 465, "username": "me", "password": SECRET, "security": "ssl"},
        "api_key": {"key": SECRET},
    }
    for type_, values in valid.items():
        response = caller.client.post("/api/credentials", json={"name": f"c-{type_}", "type": type_, "values": values})
        assert response.status_code == 201, response.text


def test_invalid_name_is_422(caller):
    response = caller.client.post("/api/credentials", json={**BEARER, "name": "has space"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "name"


def test_put_replaces_values_and_keeps_the_type(caller, engine):
    created = caller.client.post("/api/credentials", json=BEARER).json()

    response = caller.client.put("/api/credentials/github", json={"values": {"token": OTHER_SECRET}})

    assert response.status_code == 200, response.text
    assert response.json()["type"] == "bearer"
    assert response.json()["updated_at"] >= created["updated_at"]
    vault = caller.client.app.state.credential_vault
    assert vault.values(caller.user_id, "github")["token"] == OTHER_SECRET


def test_put_values_are_validated_against_the_stored_type(caller):
    caller.client.post("/api/credentials", json=BEARER)

    response = caller.client.put("/api/credentials/github", json={"values": {"username": "me", "password": "x"}})

    assert response.status_code == 422
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert fields == {"values.token", "values.username", "values.password"}


def test_put_or_delete_of_a_missing_credential_is_404(caller):
    assert caller.client.put("/api/credentials/nope", json={"values": {"token": SECRET}}).status_code == 404
    assert caller.client.delete("/api/credentials/nope").status_code == 404
    assert caller.client.get("/api/credentials/nope").status_code == 404


def test_delete_removes_the_credential(caller):
    caller.client.post("/api/credentials", json=BEARER)

    assert caller.client.delete("/api/credentials/github").status_code == 204

    assert caller.client.get("/api/credentials/github").status_code == 404
    assert caller.client.get("/api/credentials").json()["count"] == 0
    assert caller.client.post("/api/credentials", json=BEARER).status_code == 201


def test_another_owners_credential_is_404_and_stays_unchanged(caller, stranger):
    caller.client.post("/api/credentials", json=BEARER)

    assert stranger.client.get("/api/credentials/github").status_code == 404
    assert stranger.client.put("/api/credentials/github", json={"values": {"token": "stolen"}}).status_code == 404
    assert stranger.client.delete("/api/credentials/github").status_code == 404
    assert stranger.client.get("/api/credentials").json() == {"data": [], "count": 0, "next_cursor": None}

    vault = caller.client.app.state.credential_vault
    assert vault.values(caller.user_id, "github")["token"] == SECRET
    assert caller.client.get("/api/credentials/github").status_code == 200


def test_two_owners_may_use_the_same_name(caller, stranger):
    assert caller.client.post("/api/credentials", json=BEARER).status_code == 201
    assert stranger.client.post("/api/credentials", json=BEARER).status_code == 201


def test_credentials_need_authentication(anonymous):
    assert anonymous.get("/api/credentials").status_code == 401
    assert anonymous.post("/api/credentials", json=BEARER).status_code == 401


def test_a_read_scoped_key_cannot_write_credentials(app, engine):
    _, key = make_user(engine, scope="read")
    client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"})

    assert client.post("/api/credentials", json=BEARER).status_code == 403
    assert client.get("/api/credentials").status_code == 200


def test_delete_also_deletes_the_secret_in_secrets_manager(engine, settings, monkeypatch, tmp_path):
    fake_aws_environment(monkeypatch, tmp_path)
    with moto_server() as endpoint:
        sm_settings = settings.model_copy(
            update={
                "vault_backend": "secretsmanager",
                "vault_aws_endpoint_url": endpoint,
                "vault_aws_region": REGION,
                "vault_secret_prefix": "api-test",
            }
        )
        app = create_app(sm_settings, AppServices(sm_settings, dispatcher=InProcessQueue(), _engine=engine))
        user_id, key = make_user(engine)
        client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"})
        aws = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)

        created = client.post("/api/credentials", json=BEARER)
        assert created.status_code == 201, created.text
        assert created.json()["backend"] == "secretsmanager"
        secret = aws.get_secret_value(SecretId=f"api-test/{user_id}/github")
        assert SECRET in secret["SecretString"]

        assert client.delete("/api/credentials/github").status_code == 204
        with pytest.raises(aws.exceptions.ResourceNotFoundException):
            aws.describe_secret(SecretId=f"api-test/{user_id}/github")


def test_credential_types_list_each_types_fields_for_forms(caller):
    from shared.vault.types import CREDENTIAL_TYPES

    body = caller.client.get("/api/credential-types").json()

    assert [row["type"] for row in body] == list(CREDENTIAL_TYPES)
    smtp = next(row for row in body if row["type"] == "smtp")
    assert {"host", "port", "username", "password"} <= set(smtp["values_schema"]["properties"])
    assert set(smtp["values_schema"]["required"]) >= {"host", "password"}
    assert all(row["allowed"] for row in body)


def test_credential_types_tell_a_guest_which_types_it_may_not_store(anonymous):
    from tests.api.test_guests import start_trial, unique_ip

    token = start_trial(anonymous, unique_ip()).json()["token"]

    body = anonymous.get("/api/credential-types", headers={"Authorization": f"Bearer {token}"}).json()

    refused = {row["type"] for row in body if not row["allowed"]}
    assert refused == {"smtp", "twilio"}
