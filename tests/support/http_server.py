"""A real HTTP server on a loopback address that records every request it receives."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    """bytes or str as is; anything else is sent as JSON."""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None
    """Sent with chunked encoding (no Content-Length) instead of `body`."""
    declared_length: int | None = None
    """A Content-Length to announce whatever the body is; the connection is closed after the body."""
    delay_s: float = 0.0

    def payload(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


Route = Reply | Callable[[Received], Reply]


class RecordingServer:
    """A threaded HTTP/1.1 server on a loopback address with programmable routes.

    Routes match on path (any method); unknown paths get 404. Every request is recorded in
    `received`, in arrival order, before the reply is chosen.
    """

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        self.server_names: list[str | None] = []
        """The TLS SNI names clients sent, when serving https."""
        self._server = _QuietServer((host, 0), _Handler)
        self._server.recording = self  # type: ignore[attr-defined]
        self.host, self.port = self._server.server_address[:2]
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def route(self, path: str, reply: Route | None = None, **reply_fields: Any) -> None:
        self.routes[path] = reply if reply is not None else Reply(**reply_fields)

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def reply_for(self, received: Received) -> Reply:
        route = self.routes.get(received.path, Reply(status=404, body="no such route"))
        return route(received) if callable(route) else route

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up early (timeouts, size caps) are part of the tests, not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        recording: RecordingServer = self.server.recording  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        received = Received(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        recording.received.append(received)
        reply = recording.reply_for(received)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        body, headers = reply.payload()
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        if reply.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(reply.declared_length or len(body)))
        if reply.declared_length is not None:
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass
