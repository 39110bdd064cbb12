"""The egress guard: nodes reach public addresses only, unless settings say otherwise.

A workflow author controls URLs and hostnames, so without a guard any node that connects out
could read cloud metadata (169.254.169.254, the ECS credentials endpoint 169.254.170.2) or
internal services. `EgressPolicy` decides which addresses are reachable; `resolve_checked`
resolves a host and checks every address it resolves to; `make_http_client` builds the httpx
client every node uses, whose connections are opened only to addresses that passed the check.

Other connectors (browser, postgres) use `resolve_checked` and then connect to one of the
returned addresses, never to the hostname, so a DNS answer can't change between check and use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpcore
import httpx

if TYPE_CHECKING:
    import ssl

    from shared.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})

CLOUD_METADATA: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "link-local (cloud metadata)",
    ipaddress.ip_address("169.254.170.2"): "link-local (cloud metadata: ECS task credentials)",
    ipaddress.ip_address("169.254.170.23"): "link-local (cloud metadata: EKS pod identity)",
    ipaddress.ip_address("fd00:ec2::254"): "unique-local (cloud metadata)",
    ipaddress.ip_address("fd00:ec2::23"): "unique-local (cloud metadata: EKS pod identity)",
    ipaddress.ip_address("100.100.100.200"): "shared address space (cloud metadata)",
}
"""Refused even when `allow_private` is on: only an explicit `allow_networks` entry opens them."""

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_IPV4_EQUIVALENT_FORMS = frozenset({"IPv4-mapped", "IPv4-compatible", "IPv4-translated", "NAT64"})


class EgressDenied(Exception):
    """A node tried to reach an address the egress policy refuses. Not worth retrying."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        if address:
            message = f"egress to {host} refused: {address} is {reason}"
        else:
            message = f"egress to {host} refused: {reason}"
        super().__init__(message)


@dataclass(frozen=True)
class EgressPolicy:
    allow_private: bool = False
    """Allow loopback, private, link-local and other non-public addresses (tests, trusted networks)."""
    allow_networks: tuple[IPNetwork, ...] = ()
    """Networks reachable whatever else applies, cloud metadata included if listed."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(
            allow_private=settings.egress_allow_private,
            allow_networks=parse_networks(settings.egress_allow_networks),
        )

    def refusal(self, ip: str | IPAddress) -> str | None:
        """Why `ip` is refused ("loopback", "link-local (cloud metadata)", ...), or None when allowed."""
        address = _as_ip(ip)
        if any(address in network for network in self.allow_networks):
            return None
        if address in CLOUD_METADATA:
            return CLOUD_METADATA[address]
        if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
            form, ipv4 = embedded
            if reason := self.refusal(ipv4):
                return f"the {form} form of {ipv4}, which is {reason}"
            if form in _IPV4_EQUIVALENT_FORMS:
                return None
        if self.allow_private:
            return None
        return _non_public_reason(address)

    def check_ip(self, ip: str | IPAddress, host: str | None = None) -> None:
        """Raise `EgressDenied` (naming `host`, when given, and the address) unless `ip` is allowed."""
        if reason := self.refusal(ip):
            address = str(_as_ip(ip))
            raise EgressDenied(host or address, address, reason)


def parse_networks(networks: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


async def resolve_checked(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """The addresses `host` resolves to, all of them allowed by `policy`; else `EgressDenied`.

    One refused address refuses the host: a name that resolves to a public and a private address
    would otherwise reach the private one whenever the connection falls back. Literal IPs (with or
    without IPv6 brackets) are checked without DNS. DNS failures raise `socket.gaierror`.
    """
    literal = _literal_ip(host)
    if literal is not None:
        policy.check_ip(literal, host)
        return [str(literal)]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)))
    if not addresses:
        raise socket.gaierror(f"{host} has no IPv4 or IPv6 address")
    for address in addresses:
        policy.check_ip(address, host)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to checked addresses: resolves, checks, connects to the IP itself.

    TLS still runs against the hostname (httpcore passes it as server_hostname), so certificates
    are verified for the name the user asked for, and pooled connections stay per hostname.
    """

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_checked(host, port, self._policy)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressDenied(path, "", "unix sockets are not reachable from nodes")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncHTTPTransport` whose connections pass the egress guard.

    httpx calls the transport once per redirect hop, and every new connection is resolved and
    checked by `GuardedNetworkBackend`, so a redirect to a refused address fails before anything
    is sent to it. Only http and https are accepted; proxies and environment settings are ignored.
    """

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        limits = limits or httpx.Limits()
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._inner = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
        # httpx has no public hook for the network backend; it keeps its httpcore pool in `_pool`.
        self._inner._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy, backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        if scheme not in ALLOWED_SCHEMES:
            raise EgressDenied(request.url.host or str(request.url), "", f"the {scheme!r} scheme is not allowed")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client nodes get as `ctx.http`: egress-guarded, redirects and timeouts from settings."""
    return httpx.AsyncClient(
        transport=GuardedTransport(EgressPolicy.from_settings(settings)),
        follow_redirects=True,
        max_redirects=settings.http_max_redirects,
        timeout=settings.http_timeout_s,
        trust_env=False,
    )


def _as_ip(ip: str | IPAddress) -> IPAddress:
    """The address without an IPv6 zone ("fe80::1%eth0"), which only says which interface to use."""
    return ipaddress.ip_address(str(ip).split("%", 1)[0])


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return _as_ip(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _IPV4_TRANSLATED:
        return "IPv4-translated", low32
    if any(ip in network for network in _NAT64):
        return "NAT64", low32
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return "IPv4-compatible", low32
    return None


def _non_public_reason(ip: IPAddress) -> str | None:
    v4 = isinstance(ip, ipaddress.IPv4Address)
    if ip.is_unspecified or (v4 and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if not v4 and ip.is_site_local:
        return "site-local"
    if ip in _UNIQUE_LOCAL:
        return "unique-local"
    if any(ip in network for network in _RFC1918):
        return "private"
    if ip in _SHARED_SPACE:
        return "shared address space (carrier-grade NAT)"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "not publicly routable"
    return None
