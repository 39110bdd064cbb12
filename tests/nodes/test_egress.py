"""The egress guard: which addresses nodes may reach, checked on every connection and redirect hop."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
import pytest

from shared.nodes.egress import EgressDenied, EgressPolicy, GuardedTransport, make_http_client, resolve_checked
from shared.settings import Settings

PUBLIC_ONLY = EgressPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("169.254.170.2", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%lo", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, which is loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, which is link-local (cloud metadata)"),
        ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
        ("2002:a00:1::", "6to4 form of 10.0.0.1, which is private"),
    ],
)
def test_refuses_non_public_address(address: str, reason: str) -> None:
    with pytest.raises(EgressDenied) as refused:
        PUBLIC_ONLY.check_ip(address)
    assert reason in str(refused.value)
    assert str(ipaddress.ip_address(address.split("%")[0])) in str(refused.value)


def test_metadata_refusal_names_address_and_why() -> None:
    with pytest.raises(EgressDenied, match=r"169\.254\.169\.254 is link-local \(cloud metadata\)"):
        PUBLIC_ONLY.check_ip("169.254.169.254")


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"]
)
def test_allows_public_address(address: str) -> None:
    assert PUBLIC_ONLY.refusal(address) is None


def test_allow_private_opens_private_ranges_but_not_cloud_metadata() -> None:
    policy = EgressPolicy(allow_private=True)

    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("10.1.2.3") is None
    assert policy.refusal("fc00::1") is None
    assert policy.refusal("169.254.169.254") == "link-local (cloud metadata)"
    assert policy.refusal("169.254.170.2") is not None


def test_allow_networks_open_only_the_listed_ranges() -> None:
    policy = EgressPolicy.from_settings(Settings(egress_allow_networks=["10.1.0.0/16", "169.254.169.254/32"]))

    assert policy.refusal("10.1.200.3") is None
    assert policy.refusal("::ffff:10.1.200.3") is None
    assert policy.refusal("169.254.169.254") is None
    assert policy.refusal("10.2.0.1") == "private"
    assert policy.refusal("127.0.0.1") == "loopback"


async def test_literal_ip_is_checked_without_dns() -> None:
    assert await resolve_checked("8.8.8.8", 443, PUBLIC_ONLY) == ["8.8.8.8"]
    with pytest.raises(EgressDenied, match=r"::1 is loopback"):
        await resolve_checked("[::1]", 443, PUBLIC_ONLY)


async def test_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(EgressDenied) as refused:
        await resolve_checked("localhost", 80, PUBLIC_ONLY)

    assert refused.value.host == "localhost"
    assert str(refused.value).startswith("egress to localhost refused:")
    assert "is loopback" in str(refused.value)


def fake_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    async def getaddrinfo(host, port, *, type=0, **_):
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_one_refused_address_refuses_the_whole_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.215.14", "10.0.0.7")

    with pytest.raises(EgressDenied, match=r"egress to mixed\.example refused: 10\.0\.0\.7 is private"):
        await resolve_checked("mixed.example", 80, PUBLIC_ONLY)


async def test_every_address_of_a_public_name_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14")

    addresses = await resolve_checked("public.example", 80, PUBLIC_ONLY)

    assert addresses == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


# Through the HTTP client: the guard sits under httpx, on every connection it opens.


def guarded_settings(**overrides) -> Settings:
    return Settings(egress_allow_networks=["127.0.0.2/32"], http_timeout_s=5, **overrides)


async def test_client_refuses_loopback_and_sends_nothing(server) -> None:
    async with make_http_client(Settings()) as client:
        with pytest.raises(EgressDenied, match=r"127\.0\.0\.1 is loopback"):
            await client.get(server.url("/secret"))

    assert server.received == []


async def test_client_refuses_name_resolving_to_loopback(server) -> None:
    async with make_http_client(Settings()) as client:
        with pytest.raises(EgressDenied, match="egress to localhost refused"):
            await client.get(f"http://localhost:{server.port}/secret")

    assert server.received == []


async def test_allow_list_lets_the_client_reach_a_listed_address(start_server) -> None:
    allowed = start_server("127.0.0.2")
    allowed.route("/ok", body="fine")

    async with make_http_client(guarded_settings()) as client:
        response = await client.get(allowed.url("/ok"))

    assert (response.status_code, response.text) == (200, "fine")
    assert [r.path for r in allowed.received] == ["/ok"]


async def test_allow_private_lets_the_client_reach_loopback(server) -> None:
    server.route("/ok", body="fine")

    async with make_http_client(Settings(egress_allow_private=True)) as client:
        response = await client.get(server.url("/ok"))

    assert response.text == "fine"


async def test_redirect_to_refused_address_is_refused_before_sending(start_server) -> None:
    allowed, internal = start_server("127.0.0.2"), start_server("127.0.0.1")
    allowed.route("/hop", status=302, headers={"Location": internal.url("/admin")})

    async with make_http_client(guarded_settings()) as client:
        with pytest.raises(EgressDenied, match=r"127\.0\.0\.1 is loopback"):
            await client.get(allowed.url("/hop"))

    assert [r.path for r in allowed.received] == ["/hop"]
    assert internal.received == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://169.254.170.2/v2/credentials",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
    ],
)
async def test_redirect_to_cloud_metadata_is_refused(start_server, location: str) -> None:
    allowed = start_server("127.0.0.2")
    allowed.route("/hop", status=307, headers={"Location": location})

    async with make_http_client(guarded_settings(egress_allow_private=True)) as client:
        with pytest.raises(EgressDenied, match="cloud metadata"):
            await asyncio.wait_for(client.get(allowed.url("/hop")), timeout=5)


async def test_redirect_to_name_resolving_to_loopback_is_refused(start_server) -> None:
    allowed, internal = start_server("127.0.0.2"), start_server("127.0.0.1")
    allowed.route("/hop", status=302, headers={"Location": f"http://localhost:{internal.port}/admin"})

    async with make_http_client(guarded_settings()) as client:
        with pytest.raises(EgressDenied, match="egress to localhost refused"):
            await client.get(allowed.url("/hop"))

    assert internal.received == []


async def test_redirects_within_allowed_addresses_are_followed(start_server) -> None:
    allowed = start_server("127.0.0.2")
    allowed.route("/hop", status=302, headers={"Location": "/landing"})
    allowed.route("/landing", body="arrived")

    async with make_http_client(guarded_settings()) as client:
        response = await client.get(allowed.url("/hop"))

    assert response.text == "arrived"
    assert str(response.url) == allowed.url("/landing")


async def test_transport_accepts_only_http_and_https() -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(EgressPolicy(allow_private=True))) as client:
        with pytest.raises(EgressDenied, match="'ftp' scheme is not allowed"):
            await client.get("ftp://127.0.0.1/file")


async def test_unresolvable_name_is_a_connect_error() -> None:
    async with make_http_client(Settings()) as client:
        with pytest.raises(httpx.ConnectError, match="could not resolve"):
            await client.get("http://no-such-host.invalid/")


async def test_https_connects_to_the_checked_address_but_verifies_the_hostname(
    start_server, localhost_certificate
) -> None:
    secure = start_server("127.0.0.1", tls=localhost_certificate.server_context())
    secure.route("/ok", body="secret handshake")
    transport = GuardedTransport(EgressPolicy(allow_private=True), verify=localhost_certificate.client_context())

    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"https://localhost:{secure.port}/ok")

    assert response.text == "secret handshake"
    assert secure.server_names == ["localhost"]
    assert secure.received[0].headers["host"] == f"localhost:{secure.port}"


async def test_https_to_an_address_the_certificate_does_not_name_fails(start_server, localhost_certificate) -> None:
    secure = start_server("127.0.0.1", tls=localhost_certificate.server_context())
    transport = GuardedTransport(EgressPolicy(allow_private=True), verify=localhost_certificate.client_context())

    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(secure.url("/ok"))

    assert secure.received == []
