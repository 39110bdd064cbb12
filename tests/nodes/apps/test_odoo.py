"""`odoo.search_read` and `odoo.create` against a local server speaking Odoo's JSON-RPC (`/jsonrpc`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.engine.errors import NodeError
from tests.support.http_server import Received, Reply

CREDENTIAL = {"type": "odoo", "database": "acme", "username": "ann@acme.test", "password": "api-key-1"}
UID = 7


def rpc_error(name: str, message: str) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "Odoo Server Error",
        "data": {"name": name, "debug": "Traceback (most recent call last): ...", "message": message, "arguments": []},
    }


@dataclass
class FakeOdoo:
    """Answers `common.login` and `object.execute_kw` the way an Odoo 17 server does."""

    partners: list[dict[str, Any]] = field(default_factory=list)
    fail_with: dict[str, Any] | None = None

    def __call__(self, received: Received) -> Reply:
        request = received.json()
        params = request["params"]
        if params["service"] == "common" and params["method"] == "login":
            database, login, password = params["args"]
            ok = (database, login, password) == (CREDENTIAL["database"], CREDENTIAL["username"], CREDENTIAL["password"])
            return self._answer(request, result=UID if ok else False)
        _database, uid, password, _model, method, args, kwargs = params["args"]
        if (uid, password) != (UID, CREDENTIAL["password"]):
            return self._answer(request, error=rpc_error("odoo.exceptions.AccessDenied", "Access Denied"))
        if self.fail_with:
            return self._answer(request, error=self.fail_with)
        if method == "search_read":
            [domain] = args
            rows = [p for p in self.partners if all(p.get(f) == v for f, _op, v in domain)]
            rows = rows[kwargs.get("offset", 0) :][: kwargs.get("limit")]
            fields = kwargs.get("fields") or None
            return self._answer(
                request, result=[{k: v for k, v in p.items() if not fields or k in fields} for p in rows]
            )
        if method == "create":
            [values] = args
            many = values if isinstance(values, list) else [values]
            ids = []
            for record in many:
                self.partners.append({"id": len(self.partners) + 1, **record})
                ids.append(len(self.partners))
            return self._answer(request, result=ids if isinstance(values, list) else ids[0])
        return self._answer(request, error=rpc_error("builtins.AttributeError", f"no method {method}"))

    @staticmethod
    def _answer(request: dict[str, Any], **outcome: Any) -> Reply:
        return Reply(body={"jsonrpc": "2.0", "id": request["id"], **outcome})


@pytest.fixture
def odoo(server) -> FakeOdoo:
    fake = FakeOdoo(
        partners=[
            {"id": 1, "name": "ACME", "is_company": True, "email": "info@acme.test"},
            {"id": 2, "name": "Ann", "is_company": False, "email": "ann@acme.test"},
            {"id": 3, "name": "Globex", "is_company": True, "email": "hi@globex.test"},
        ]
    )
    server.route("/jsonrpc", fake)
    return fake


@pytest.fixture
def credentials(server) -> dict[str, dict[str, Any]]:
    return {"odoo": {**CREDENTIAL, "url": server.url("/")}}


async def test_search_read_logs_in_then_calls_execute_kw(server, run_node, odoo, credentials) -> None:
    output = await run_node(
        "odoo.search_read",
        {
            "credential": "odoo",
            "model": "res.partner",
            "domain": [["is_company", "=", True]],
            "fields": ["name", "email"],
            "limit": 10,
            "offset": 1,
            "order": "name asc",
        },
        credentials=credentials,
    )

    login, search = server.received
    assert (login.method, login.path, login.headers["content-type"]) == ("POST", "/jsonrpc", "application/json")
    assert login.json()["jsonrpc"] == "2.0"
    assert login.json()["method"] == "call"
    assert login.json()["params"] == {
        "service": "common",
        "method": "login",
        "args": ["acme", "ann@acme.test", "api-key-1"],
    }
    assert search.json()["params"] == {
        "service": "object",
        "method": "execute_kw",
        "args": [
            "acme",
            UID,
            "api-key-1",
            "res.partner",
            "search_read",
            [[["is_company", "=", True]]],
            {"fields": ["name", "email"], "limit": 10, "offset": 1, "order": "name asc"},
        ],
    }
    assert login.json()["id"] != search.json()["id"]
    assert output == {"records": [{"name": "Globex", "email": "hi@globex.test"}], "count": 1}


async def test_create_one_record_returns_its_id(server, run_node, odoo, credentials) -> None:
    output = await run_node(
        "odoo.create",
        {"credential": "odoo", "model": "res.partner", "values": {"name": "Initech", "is_company": True}},
        credentials=credentials,
    )

    args = server.received[1].json()["params"]["args"]
    assert args[3:] == ["res.partner", "create", [{"name": "Initech", "is_company": True}], {}]
    assert output == {"ids": [4], "id": 4}
    assert odoo.partners[-1] == {"id": 4, "name": "Initech", "is_company": True}


async def test_create_several_records(run_node, odoo, credentials) -> None:
    output = await run_node(
        "odoo.create",
        {"credential": "odoo", "model": "res.partner", "values": [{"name": "A"}, {"name": "B"}]},
        credentials=credentials,
    )

    assert output == {"ids": [4, 5], "id": 4}


async def test_refused_login_fails_for_good_without_calling_the_model(server, run_node, odoo, credentials) -> None:
    credentials["odoo"]["password"] = "wrong"

    with pytest.raises(NodeError, match=r"refused the login of 'ann@acme\.test' to database 'acme'") as failed:
        await run_node("odoo.search_read", {"credential": "odoo", "model": "res.partner"}, credentials=credentials)

    assert not failed.value.retryable
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("odoo.exceptions.AccessError", "You are not allowed to create 'Contact' (res.partner) records."),
        ("odoo.exceptions.ValidationError", "The email address is not valid."),
        ("odoo.exceptions.UserError", "You cannot archive a company with users."),
        ("builtins.ValueError", "Invalid field 'nope' on model 'res.partner'"),
    ],
)
async def test_model_errors_fail_for_good_with_odoo_message(run_node, odoo, credentials, name, message) -> None:
    odoo.fail_with = rpc_error(name, message)

    with pytest.raises(NodeError) as failed:
        await run_node(
            "odoo.create",
            {"credential": "odoo", "model": "res.partner", "values": {"name": "x"}},
            credentials=credentials,
        )

    assert not failed.value.retryable
    assert failed.value.message == f"Odoo: res.partner.create failed: {message} ({name})"


@pytest.mark.parametrize("name", ["psycopg2.errors.SerializationFailure", "psycopg2.OperationalError"])
async def test_database_contention_is_retryable(run_node, odoo, credentials, name) -> None:
    odoo.fail_with = rpc_error(name, "could not serialize access due to concurrent update")

    with pytest.raises(NodeError, match="could not serialize access") as failed:
        await run_node("odoo.search_read", {"credential": "odoo", "model": "res.partner"}, credentials=credentials)

    assert failed.value.retryable


async def test_proxy_outage_is_retryable(server, run_node, credentials) -> None:
    server.route("/jsonrpc", status=502, body="<html>Bad Gateway</html>")

    with pytest.raises(NodeError, match="HTTP 502") as failed:
        await run_node("odoo.search_read", {"credential": "odoo", "model": "res.partner"}, credentials=credentials)

    assert failed.value.retryable


@pytest.mark.parametrize("model", ["res.partner; drop", "../web", "Res.Partner", ""])
async def test_model_names_are_checked(run_node, credentials, model) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="model"):
        await run_node("odoo.search_read", {"credential": "odoo", "model": model}, credentials=credentials)
