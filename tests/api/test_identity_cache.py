"""The identity cache: reads reuse a recent API-key lookup, writes never do, and revoking, claiming
or deleting forgets at once in this process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session

from api.app import create_app
from api.services import AppServices
from shared.db.models import ApiKey
from shared.queue.inprocess import InProcessQueue
from tests.api.conftest import make_user
from tests.api.test_runs import GREET


def revoke_behind_the_apis_back(engine, key_id) -> None:
    """As another process would: the CLI, or another API instance."""
    with Session(engine) as session:
        session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=datetime.now(UTC)))
        session.commit()


def key_id_of(caller) -> uuid.UUID:
    [row] = caller.client.get("/api/api-keys").json()["data"]
    return uuid.UUID(row["id"])


def test_a_key_revoked_elsewhere_is_refused_for_writes_at_once(caller, engine):
    key_id = key_id_of(caller)
    revoke_behind_the_apis_back(engine, key_id)

    write = caller.client.post("/api/workflows", json={"name": "after revoke", "definition": GREET})

    assert write.status_code == 401
    assert caller.client.get("/api/me").status_code == 401, "the failed fresh lookup replaced the cached one"


def test_reads_reuse_the_lookup_for_at_most_the_configured_time(caller, app, engine):
    cache = app.state.services.identity_cache
    now = [1000.0]
    cache.clock = lambda: now[0]
    assert caller.client.get("/api/me").status_code == 200
    revoke_behind_the_apis_back(engine, key_id_of(caller))

    now[0] += cache.ttl_s - 0.1
    assert caller.client.get("/api/workflows").status_code == 200, "a read within the cache time"
    now[0] += 0.2
    assert caller.client.get("/api/workflows").status_code == 401


def test_a_cache_time_of_zero_looks_every_request_up(engine, settings):
    from fastapi.testclient import TestClient

    uncached = settings.model_copy(update={"api_key_cache_s": 0})
    app = create_app(uncached, AppServices(uncached, dispatcher=InProcessQueue(), _engine=engine))
    user_id, key = make_user(engine)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    assert client.get("/api/me").status_code == 200
    with Session(engine) as session:
        key_id = session.exec(sa.select(ApiKey.id).where(ApiKey.owner_id == user_id)).scalar_one()
    revoke_behind_the_apis_back(engine, key_id)

    assert client.get("/api/me").status_code == 401


def test_the_balance_shown_is_fresh_though_the_identity_is_cached(caller, engine):
    from shared.credits import grant

    before = caller.client.get("/api/me").json()["credits"]
    with Session(engine) as session:
        grant(session, caller.user_id, 7)
        session.commit()

    assert caller.client.get("/api/me").json()["credits"] == before + 7
    assert caller.client.get("/api/me/usage").json()["credits_balance"] == before + 7


def test_a_route_changing_its_user_does_not_change_the_cached_copy(caller):
    """Each request gets its own copy of the cached user: two reads in a row see the same caller."""
    first = caller.client.get("/api/me").json()
    second = caller.client.get("/api/me").json()

    assert first == second
    assert first["id"] == str(caller.user_id)
