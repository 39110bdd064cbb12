"""`notify_on_failure` through the workflows API: set, read back, replace, turn off, and refuse
bad values with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from shared.db.models import User
from shared.vault.store import vault_from_settings

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


def create(caller, **fields):
    return caller.client.post("/api/workflows", json={"name": "alerting", "definition": GREET, **fields})


def test_alerts_are_set_on_create_and_read_back(caller) -> None:
    alerts = {"email": "ops@example.com", "webhook_url": "https://hooks.example.com/failed"}

    created = create(caller, notify_on_failure=alerts)

    assert created.status_code == 201, created.text
    assert created.json()["notify_on_failure"] == alerts
    read = caller.client.get(f"/api/workflows/{created.json()['id']}").json()
    assert read["notify_on_failure"] == alerts


def test_alerts_are_replaced_and_turned_off_by_update(caller) -> None:
    workflow_id = create(caller, notify_on_failure={"email": "ops@example.com"}).json()["id"]

    replaced = caller.client.patch(
        f"/api/workflows/{workflow_id}", json={"notify_on_failure": {"webhook_url": "https://h.example/x"}}
    )
    untouched = caller.client.patch(f"/api/workflows/{workflow_id}", json={"name": "renamed"})
    off = caller.client.patch(f"/api/workflows/{workflow_id}", json={"notify_on_failure": {}})

    assert replaced.json()["notify_on_failure"] == {"webhook_url": "https://h.example/x"}
    assert untouched.json()["notify_on_failure"] == {"webhook_url": "https://h.example/x"}
    assert off.status_code == 200
    assert off.json()["notify_on_failure"] is None


def test_a_workflow_without_alerts_shows_null(caller) -> None:
    assert create(caller).json()["notify_on_failure"] is None


@pytest.mark.parametrize(
    ("alerts", "field"),
    [
        ({"email": "not-an-address"}, "notify_on_failure.email"),
        ({"email": "Ops <ops@example.com>"}, "notify_on_failure.email"),
        ({"webhook_url": "ftp://files.example.com/x"}, "notify_on_failure.webhook_url"),
        ({"webhook_url": "not a url"}, "notify_on_failure.webhook_url"),
        ({"smtp_credential": "mail"}, "notify_on_failure"),
        ({"emails": "ops@example.com"}, "notify_on_failure.emails"),
    ],
)
def test_bad_alerts_are_refused_naming_the_field(caller, alerts, field) -> None:
    response = create(caller, notify_on_failure=alerts)

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["error"]["details"]]


def test_the_smtp_credential_must_be_the_callers_smtp_credential(caller, services) -> None:
    vault = vault_from_settings(services.engine, services.settings)
    vault.create(caller.user_id, "api-token", "bearer", {"token": "t"})
    vault.create(caller.user_id, "ops-mail", "smtp", {"host": "smtp.example.com", "port": 587, "username": "u",
                                                      "password": "p"})  # fmt: skip

    missing = create(caller, notify_on_failure={"email": "ops@example.com", "smtp_credential": "nope"})
    wrong_type = create(caller, notify_on_failure={"email": "ops@example.com", "smtp_credential": "api-token"})
    fine = create(caller, notify_on_failure={"email": "ops@example.com", "smtp_credential": "ops-mail"})

    for refused, reason in ((missing, "no credential of that name"), (wrong_type, "has type 'bearer'")):
        assert refused.status_code == 422
        [detail] = refused.json()["error"]["details"]
        assert detail["field"] == "notify_on_failure.smtp_credential"
        assert reason in detail["message"]
    assert fine.status_code == 201
    assert fine.json()["notify_on_failure"]["smtp_credential"] == "ops-mail"


def test_guests_may_not_email_but_may_use_a_webhook(caller, engine) -> None:
    with Session(engine) as session:
        user = session.get(User, caller.user_id)
        user.kind, user.trial_expires_at = "guest", datetime.now(UTC) + timedelta(days=1)
        session.add(user)
        session.commit()

    emailed = create(caller, notify_on_failure={"email": "victim@example.com"})
    hooked = create(caller, notify_on_failure={"webhook_url": "https://hooks.example.com/x"})

    assert emailed.status_code == 422
    assert emailed.json()["error"]["details"][0]["field"] == "notify_on_failure.email"
    assert hooked.status_code == 201
