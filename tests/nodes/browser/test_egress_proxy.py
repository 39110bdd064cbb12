"""The egress proxy on the wire, driven by an HTTP client instead of Chromium: requests to allowed
addresses pass unchanged, refused ones never leave."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from shared.browser.egress_proxy import EgressProxy
from shared.nodes.egress import EgressPolicy, parse_networks

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def proxy() -> AsyncIterator[tuple[EgressProxy, list[tuple[str, str]]]]:
    refused: list[tuple[str, str]] = []
    policy = EgressPolicy(allow_networks=parse_networks(["127.0.0.1/32"]))
    running = await EgressProxy(policy, connect_timeout_s=5, on_refusal=lambda *r: refused.append(r)).start()
    yield running, refused
    await running.close()


async def test_an_allowed_request_passes_with_its_body_and_without_proxy_headers(site, proxy) -> None:
    running, refused = proxy
    site.route("/echo", status=201, body={"ok": True}, headers={"X-Reply": "yes", "Keep-Alive": "timeout=5"})

    async with httpx.AsyncClient(proxy=running.url) as client:
        response = await client.post(site.url("/echo?a=1"), content=b"x" * 100_000, headers={"X-Trace": "t"})

    assert (response.status_code, response.json(), response.headers["x-reply"]) == (201, {"ok": True}, "yes")
    assert response.headers["connection"] == "close" and "keep-alive" not in response.headers
    received = site.received[-1]
    assert (received.method, received.path, received.query) == ("POST", "/echo", {"a": ["1"]})
    assert received.body == b"x" * 100_000
    assert received.headers["x-trace"] == "t"
    assert received.headers["connection"] == "close"
    assert "proxy-connection" not in received.headers
    assert refused == []


async def test_a_refused_address_gets_403_and_no_connection(denied, proxy) -> None:
    running, refused = proxy

    async with httpx.AsyncClient(proxy=running.url) as client:
        response = await client.get(denied.url("/"))

    assert response.status_code == 403
    assert response.text == "egress to 127.0.0.2 refused: 127.0.0.2 is loopback"
    assert refused == [(f"127.0.0.2:{denied.port}", response.text)]
    assert denied.received == []


async def test_a_refused_tunnel_is_not_opened(denied, proxy) -> None:
    running, refused = proxy

    async with httpx.AsyncClient(proxy=running.url, verify=False) as client:
        with pytest.raises(httpx.ProxyError, match="403"):
            await client.get(f"https://127.0.0.2:{denied.port}/")

    assert refused[-1][0] == f"127.0.0.2:{denied.port}"
    assert denied.received == []


async def test_an_allowed_tunnel_carries_tls_end_to_end(start_server, localhost_certificate) -> None:
    """`localhost` resolves to ::1 and 127.0.0.1; the server listens on the latter only, so this
    also shows the proxy trying each checked address in turn."""
    secure = start_server(tls=localhost_certificate.server_context())
    secure.route("/secret", body={"tls": True})
    policy = EgressPolicy(allow_networks=parse_networks(["127.0.0.1/32", "::1/128"]))
    running = await EgressProxy(policy, connect_timeout_s=5).start()
    try:
        async with httpx.AsyncClient(proxy=running.url, verify=localhost_certificate.client_context()) as client:
            response = await client.get(f"https://localhost:{secure.port}/secret")
    finally:
        await running.close()

    assert response.json() == {"tls": True}
    assert secure.server_names == ["localhost"]
    assert secure.received[0].path == "/secret"
