"""A forwarding proxy on 127.0.0.1 that a locally launched Chromium sends all its traffic through,
so every connection it opens passes the egress guard.

Route interception (`route_guard`) sees a page's requests but not where redirects lead, nor DNS
answers that change between its check and Chromium's own lookup. Here the proxy resolves the
host, checks every address (`resolve_checked`) and connects to the checked address itself, for
each redirect hop, sub-request and WebSocket alike. HTTPS and WebSockets arrive as `CONNECT`
tunnels (TLS stays end to end: Chromium verifies certificates); plain HTTP arrives in absolute
form and is forwarded one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

from shared.nodes.egress import EgressDenied, EgressPolicy, resolve_checked

MAX_HEAD_BYTES = 64 * 1024
PROXY_HEADER = "X-Flowbuilder-Egress-Proxy"
HOP_BY_HOP = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive"})

Refusal = Callable[[str, str], None]
"""Told (target, reason) for every connection the guard refuses."""


class EgressProxy:
    def __init__(self, policy: EgressPolicy, *, connect_timeout_s: float, on_refusal: Refusal | None = None) -> None:
        self.policy = policy
        self.connect_timeout_s = connect_timeout_s
        self.on_refusal = on_refusal or (lambda target, reason: None)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy has not been started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> EgressProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:  # `close` ends open connections; the server's callback must not see it
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return await _reply(writer, 431, "request head too large")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = await self._open(writer, host.strip("[]"), int(port), target)
            if upstream is None:
                return None
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            return await _pipe_both(reader, writer, *upstream)
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            return await _reply(writer, 400, f"the proxy forwards http:// URLs only, not {target[:100]!r}")
        upstream = await self._open(writer, url.hostname, url.port or 80, url.netloc)
        if upstream is None:
            return None
        up_reader, up_writer = upstream
        path = url.path or "/"
        headers = [line for line in header_lines if line and line.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
        origin_form = f"{method} {path}{'?' + url.query if url.query else ''} {version}"
        up_writer.write("\r\n".join([origin_form, *headers]).encode("latin-1") + b"\r\nConnection: close\r\n\r\n")
        await up_writer.drain()
        sending = asyncio.create_task(_copy(reader, up_writer))  # the body, if any, while the answer comes
        try:
            response_head = await up_reader.readuntil(b"\r\n\r\n")
            status_line, *response_lines = response_head.decode("latin-1").split("\r\n")
            kept = [line for line in response_lines if line and line.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
            writer.write("\r\n".join([status_line, *kept]).encode("latin-1") + b"\r\nConnection: close\r\n\r\n")
            await _copy(up_reader, writer)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            up_writer.close()
        return None

    async def _open(
        self, writer: asyncio.StreamWriter, host: str, port: int, target: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to a checked address of `host`; None once the refusal has been answered."""
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                addresses = await resolve_checked(host, port, self.policy)
                failure: OSError | None = None
                for address in addresses:
                    try:
                        return await asyncio.open_connection(address, port)
                    except OSError as exc:
                        failure = exc
                assert failure is not None
                raise failure
        except EgressDenied as exc:
            self.on_refusal(target, str(exc))
            await _reply(writer, 403, str(exc))
        except TimeoutError:
            await _reply(writer, 504, f"connecting to {target} timed out")
        except OSError as exc:
            await _reply(writer, 502, f"could not connect to {target}: {exc}")
        return None


async def _reply(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    """The proxy's own answer, marked with `PROXY_HEADER` so a step can tell it from the site's."""
    body = message.encode()
    writer.write(
        f"HTTP/1.1 {status} Refused\r\nContent-Type: text/plain; charset=utf-8\r\n{PROXY_HEADER}: {status}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes."""
    try:
        tasks = [asyncio.create_task(_copy(reader, up_writer)), asyncio.create_task(_copy(up_reader, writer))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        up_writer.close()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(64 * 1024):
            sink.write(chunk)
            await sink.drain()
