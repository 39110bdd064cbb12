"""Rate limits: per identity class, shared by a user's keys, per client IP without credentials,
run starts counted apart, and the headers on every answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from shared.db.crud import create_workflow
from shared.db.models import User
from shared.identity.api_keys import issue_api_key
from shared.ratelimit import DatabaseCounterStore, Limit, MemoryCounterStore, RateLimiter
from shared.settings import Settings

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        rate_limit_user_requests=6,
        rate_limit_user_executions=3,
        rate_limit_guest_requests=4,
        rate_limit_guest_executions=2,
        rate_limit_ip_requests=3,
    )


def make_identity(engine, kind: str = "user", keys: int = 1) -> tuple[object, list[str]]:
    with Session(engine, expire_on_commit=False) as session:
        trial = datetime.now(UTC) + timedelta(days=1) if kind == "guest" else None
        user = User(kind=kind, credits=1000, trial_expires_at=trial)
        session.add(user)
        session.flush()
        issued = [issue_api_key(session, user.id, f"key {n}").key for n in range(keys)]
        session.commit()
        return user.id, issued


def client_for(app, key: str | None = None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    if key:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


def statuses(client: TestClient, count: int, path: str = "/api/me", method: str = "GET", **kwargs) -> list[int]:
    return [client.request(method, path, **kwargs).status_code for _ in range(count)]


def test_a_user_gets_their_limit_then_429_with_retry_after(app, engine):
    _, [key] = make_identity(engine)
    client = client_for(app, key)

    assert statuses(client, 6) == [200] * 6
    refused = client.get("/api/me")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "6"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["ratelimit-reset"]) <= 60


def test_successful_answers_carry_the_ratelimit_headers(app, engine):
    _, [key] = make_identity(engine)
    client = client_for(app, key)

    first, second = client.get("/api/me"), client.get("/api/me")

    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("6", "5")
    assert second.headers["ratelimit-remaining"] == "4"
    assert "retry-after" not in first.headers


def test_guests_have_the_lower_guest_limit(app, engine):
    _, [key] = make_identity(engine, kind="guest")

    assert statuses(client_for(app, key), 5) == [200] * 4 + [429]


def test_a_users_api_keys_share_the_users_budget(app, engine):
    _, [first, second] = make_identity(engine, keys=2)

    answers = statuses(client_for(app, first), 3) + statuses(client_for(app, second), 4)

    assert answers == [200] * 6 + [429]


def test_users_do_not_share_budgets(app, engine):
    _, [busy] = make_identity(engine)
    _, [other] = make_identity(engine)
    statuses(client_for(app, busy), 7)

    assert client_for(app, other).get("/api/me").status_code == 200


def test_failed_authentications_are_limited_per_client_ip(app):
    client = client_for(app, "fb_nothing_wrong")

    assert statuses(client, 4) == [401, 401, 401, 429]


def test_the_client_ip_comes_from_the_trusted_forwarded_entry(app):
    anonymous = client_for(app)
    spoofed = [{"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.7"} for n in range(4)]

    answers = [anonymous.get("/api/me", headers=headers).status_code for headers in spoofed]
    elsewhere = anonymous.get("/api/me", headers={"X-Forwarded-For": "203.0.113.8"})

    assert answers == [401, 401, 401, 429]  # the left-most entry is the client's to write: ignored
    assert elsewhere.status_code == 401


def test_health_and_docs_are_never_limited(app):
    client = client_for(app)

    assert set(statuses(client, 6, "/api/health")) == {200}
    assert set(statuses(client, 6, "/api/openapi.json")) == {200}
    assert "ratelimit-limit" not in client.get("/api/health").headers


def test_run_starts_have_their_own_limit(app, engine):
    user_id, [key] = make_identity(engine, kind="guest")
    with Session(engine) as session:
        workflow, _ = create_workflow(session, user_id, "greeter", GREET)
        session.commit()
        path = f"/api/workflows/{workflow.id}/runs"
    client = client_for(app, key)

    answers = [client.post(path, json={}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert "starts of runs" in answers[2].json()["error"]["message"]
    assert client.get("/api/me").status_code == 200  # reads still have budget left


def test_webhook_deliveries_count_against_the_owners_run_limit(app, engine):
    user_id, [key] = make_identity(engine)
    owner = client_for(app, key)
    with Session(engine) as session:
        workflow, _ = create_workflow(session, user_id, "hooked", GREET)
        session.commit()
        workflow_id = workflow.id
    token = owner.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    hook = client_for(app)

    answers = [hook.post(f"/api/hooks/{token}", headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(4)]

    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]


@pytest.mark.parametrize("store_kind", ["memory", "database"])
def test_a_limiter_counts_exactly_per_key_and_window(store_kind, engine):
    store = DatabaseCounterStore(engine) if store_kind == "database" else MemoryCounterStore()
    limiter = RateLimiter(store)
    key, now = f"test:{store_kind}:{id(store)}", datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)

    decisions = [limiter.hit(key, Limit(2, 60), now) for _ in range(3)]
    next_window = limiter.hit(key, Limit(2, 60), now + timedelta(seconds=30))

    assert [d.allowed for d in decisions] == [True, True, False]
    assert [d.remaining for d in decisions] == [1, 0, 0]
    assert decisions[0].reset_s == 30
    assert next_window.allowed and next_window.remaining == 1


def test_expired_database_counters_are_deleted(engine):
    store = DatabaseCounterStore(engine)
    past = datetime(2001, 1, 1, tzinfo=UTC)
    store.increment("test:expired", past, past + timedelta(seconds=60))

    assert store.delete_expired() >= 1
    assert store.increment("test:expired", past, past + timedelta(seconds=60)) == 1
