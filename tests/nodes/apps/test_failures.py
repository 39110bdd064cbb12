"""Every HTTP app node fails the same way (`service_call` underneath): 4xx for good with the service's
words; 408, 429, 5xx, timeouts and refused connections retryably; refused egress before sending."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from shared.engine.errors import NodeError
from shared.settings import Settings
from tests.support.http_server import Reply

PAGE = "b55c9c91384d452b81dbd1ef79372b75"

APPS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # node type: (path it calls, credential type, config)
    "hubspot.upsert_contact": ("/crm/v3/objects/contacts/batch/upsert", "hubspot", {"email": "a@b.c"}),
    "notion.create_page": ("/v1/pages", "notion", {"page_id": PAGE}),
    "notion.query_database": (f"/v1/databases/{PAGE}/query", "notion", {"database_id": PAGE}),
    "odoo.search_read": ("/jsonrpc", "odoo", {"model": "res.partner"}),
    "brightdata.fetch": ("/request", "brightdata", {"zone": "z", "url": "https://shop.example/"}),
}
CREDENTIAL_VALUES = {
    "hubspot": {"token": "t"},
    "notion": {"token": "t"},
    "brightdata": {"token": "t"},
    "odoo": {"database": "d", "username": "u", "password": "p"},
}


def credentials_for(kind: str, base_url: str) -> dict[str, dict[str, Any]]:
    url_key = "url" if kind == "odoo" else "base_url"
    return {"app": {"type": kind, url_key: base_url, **CREDENTIAL_VALUES[kind]}}


async def run_app(run_node, name: str, base_url: str, settings: Settings | None = None, **config: Any) -> Any:
    _path, kind, own_config = APPS[name]
    return await run_node(
        name,
        {"credential": "app", **own_config, **config},
        credentials=credentials_for(kind, base_url),
        settings=settings or Settings(egress_allow_private=True),
    )


@pytest.mark.parametrize("name", sorted(APPS))
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_fail_for_good_with_the_service_message(server, run_node, name, status) -> None:
    server.route(APPS[name][0], status=status, body={"message": "bad input"})

    with pytest.raises(NodeError) as failed:
        await run_app(run_node, name, server.url("/"))

    assert not failed.value.retryable
    assert f"HTTP {status}" in failed.value.message
    assert "bad input" in failed.value.message


@pytest.mark.parametrize("name", sorted(APPS))
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_transient_statuses_are_retryable(server, run_node, name, status) -> None:
    server.route(APPS[name][0], Reply(status=status, body={"message": "later"}, headers={"Retry-After": "3"}))

    with pytest.raises(NodeError, match=rf"HTTP {status}") as failed:
        await run_app(run_node, name, server.url("/"))

    assert failed.value.retryable


@pytest.mark.parametrize("name", sorted(APPS))
async def test_connection_refused_is_retryable(run_node, name) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(NodeError, match="ConnectError") as failed:
        await run_app(run_node, name, f"http://127.0.0.1:{closed_port}")

    assert failed.value.retryable


@pytest.mark.parametrize("name", sorted(APPS))
async def test_timeout_is_retryable_and_capped_by_the_server(server, run_node, name) -> None:
    server.route(APPS[name][0], Reply(body={}, delay_s=1.0))
    settings = Settings(egress_allow_private=True, http_timeout_s=0.2)

    with pytest.raises(NodeError, match=r"timed out after 0\.2s") as failed:
        await run_app(run_node, name, server.url("/"), settings=settings, timeout_s=60)

    assert failed.value.retryable


@pytest.mark.parametrize("name", sorted(APPS))
async def test_refused_egress_fails_for_good_before_sending(server, run_node, name) -> None:
    with pytest.raises(NodeError, match=r"egress to 127\.0\.0\.1 refused") as failed:
        await run_app(run_node, name, server.url("/"), settings=Settings())

    assert not failed.value.retryable
    assert server.received == []


@pytest.mark.parametrize("name", sorted(APPS))
async def test_answer_over_the_size_cap_fails_for_good(server, run_node, name) -> None:
    server.route(APPS[name][0], body="x" * 4096)
    settings = Settings(egress_allow_private=True, http_max_response_bytes=1024)

    with pytest.raises(NodeError, match="1024-byte limit") as failed:
        await run_app(run_node, name, server.url("/"), settings=settings)

    assert not failed.value.retryable


@pytest.mark.parametrize("name", sorted(APPS))
async def test_credential_of_another_type_is_refused_before_sending(server, run_node, name) -> None:
    with pytest.raises(NodeError, match=rf"has type 'bearer'; {name} needs a '{APPS[name][1]}' credential"):
        await run_node(
            name,
            {"credential": "app", **APPS[name][2]},
            credentials={"app": {"type": "bearer", "token": "t"}},
            settings=Settings(egress_allow_private=True),
        )

    assert server.received == []


def test_joined_url_keeps_the_base_path() -> None:
    from shared.nodes.json_api import joined_url

    assert str(joined_url("https://h.example/api/", "/v1/pages")) == "https://h.example/api/v1/pages"
    assert str(joined_url("https://h.example", "v1/pages")) == "https://h.example/v1/pages"
