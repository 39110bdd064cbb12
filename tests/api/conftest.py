"""API fixtures: the app on each database, and two users with API keys (for isolation tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from api.services import AppServices
from shared.db.models import User
from shared.identity.api_keys import issue_api_key
from shared.queue.inprocess import InProcessQueue
from shared.settings import Settings


@dataclass
class Caller:
    client: TestClient
    user_id: object
    key: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_user(engine: Engine, credits: int = 1000, scope: str = "full") -> tuple[object, str]:
    with Session(engine, expire_on_commit=False) as session:
        user = User(kind="user", email="someone@example.com", credits=credits)
        session.add(user)
        session.flush()
        issued = issue_api_key(session, user.id, "test", scope)
        session.commit()
        return user.id, issued.key


@pytest.fixture
def services(engine: Engine, settings: Settings) -> AppServices:
    return AppServices(settings, dispatcher=InProcessQueue(), _engine=engine)


@pytest.fixture
def app(services: AppServices):
    return create_app(services.settings, services)


@pytest.fixture
def caller(app, engine: Engine) -> Caller:
    user_id, key = make_user(engine)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    return Caller(client, user_id, key)


@pytest.fixture
def stranger(app, engine: Engine) -> Caller:
    """A second user: every id of `caller`'s must be a 404 to them."""
    user_id, key = make_user(engine)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    return Caller(client, user_id, key)


@pytest.fixture
def anonymous(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)
