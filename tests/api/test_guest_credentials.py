"""Guests cannot store credentials of paid integrations (`smtp`: email); plain HTTP auth stays open."""

from __future__ import annotations

import pytest

from tests.api.test_guests import start_trial, unique_ip

SMTP = {
    "name": "mailer",
    "type": "smtp",
    "values": {"host": "smtp.example.com", "port": 587, "username": "me", "password": "pw-123"},
}
BEARER = {"name": "github", "type": "bearer", "values": {"token": "ghp-123"}}


@pytest.fixture
def guest(anonymous) -> dict[str, str]:
    response = start_trial(anonymous, unique_ip())
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_guest_cannot_store_a_paid_integration_credential(anonymous, guest):
    response = anonymous.post("/api/credentials", json=SMTP, headers=guest)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "guest_not_allowed"
    assert "sign in" in response.json()["error"]["message"]
    assert anonymous.get("/api/credentials", headers=guest).json()["count"] == 0


def test_a_guest_can_store_a_plain_http_credential(anonymous, guest):
    response = anonymous.post("/api/credentials", json=BEARER, headers=guest)

    assert response.status_code == 201, response.text


def test_a_guest_cannot_switch_a_credential_to_a_paid_type(anonymous, guest):
    assert anonymous.post("/api/credentials", json=BEARER, headers=guest).status_code == 201

    response = anonymous.put("/api/credentials/github", json={"type": "smtp", "values": SMTP["values"]}, headers=guest)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "guest_not_allowed"
    assert anonymous.get("/api/credentials/github", headers=guest).json()["type"] == "bearer"


def test_a_signed_in_user_can_store_both(caller):
    assert caller.client.post("/api/credentials", json=SMTP).status_code == 201
    assert caller.client.post("/api/credentials", json=BEARER).status_code == 201
