"""A small HTTP/1.1 load generator on loopback: `connections` keep-alive sockets, each sending the
next request as soon as its last answer is read, until `count` requests have been answered.

Written on asyncio streams rather than an HTTP client library so it costs the machine little: on
two cores, every millisecond the generator spends is one the server under test does not get."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Answers:
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def run_load(
    host: str,
    ports: list[int],
    request: Callable[[int], bytes],
    count: int,
    connections: int,
    keep_bodies: bool = False,
) -> Answers:
    """Send request(0) ... request(count - 1) (whole HTTP/1.1 requests as bytes) over `connections`
    sockets, spread over `ports` in turn; collect each answer's status and latency (and body when asked)."""
    answers = Answers()
    next_index = iter(range(count))

    async def connection(port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in next_index:
                started = time.perf_counter()
                writer.write(request(index))
                status, body = await _read_answer(reader)
                answers.latencies_ms.append((time.perf_counter() - started) * 1000)
                answers.statuses[status] = answers.statuses.get(status, 0) + 1
                if keep_bodies:
                    answers.bodies.append(body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(ports[i % len(ports)]) for i in range(min(connections, count))))
    answers.seconds = time.perf_counter() - started
    return answers


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding":
            raise RuntimeError("chunked answers are not supported by the load generator")
    return status, await reader.readexactly(length) if length else b""


def http_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
