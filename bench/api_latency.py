"""In-process latency of an authenticated `GET /api/workflows/{id}` against a bare FastAPI route
answering the same JSON.

    python -m bench.api_latency [--requests 500] [--warmup 50] [--database-url URL]

Without --database-url it creates a scratch database on the local PostgreSQL and drops it after.
Both apps are called through `httpx.ASGITransport` (no sockets), one request at a time, alternating
between them so drift hits both alike. The API's rate limits are raised out of the way (their
bookkeeping still runs). Goal: the API's p50 at most 2x the bare route's."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
from sqlmodel import Session

from api.app import create_app
from api.services import AppServices
from bench.bare_app import build_app
from bench.database import benchmark_database
from shared.db.crud import create_workflow
from shared.db.models import User
from shared.identity.api_keys import issue_api_key
from shared.settings import Settings

GOAL = 2.0
DEFINITION = {
    "nodes": [
        {"id": "fetch", "type": "http.request", "config": {"url": "https://example.com/orders/{{ input.id }}"}},
        {"id": "summary", "type": "text.combine", "config": {"parts": ["order ", "{{ nodes.fetch.output.status }}"]}},
    ],
    "edges": [{"from": "fetch", "to": "summary"}],
}


def seed(engine) -> tuple[str, str]:
    """A user with an API key and one workflow: (key, path of the workflow)."""
    with Session(engine, expire_on_commit=False) as session:
        user = User(kind="user", email="bench@example.com", credits=1000)
        session.add(user)
        session.flush()
        key = issue_api_key(session, user.id, "bench", "full").key
        workflow, _ = create_workflow(session, user.id, "bench", DEFINITION)
        session.commit()
    return key, f"/api/workflows/{workflow.id}"


async def timed_get(client: httpx.AsyncClient, path: str, headers: dict[str, str], expected: Any) -> float:
    started = time.perf_counter()
    response = await client.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or response.json() != expected:
        raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    return elapsed * 1000


async def measure(engine, url: str, requests: int, warmup: int) -> tuple[list[float], list[float]]:
    """Per-request milliseconds of the API and of the bare route, warm-up excluded."""
    key, path = seed(engine)
    settings = Settings(database_url=url, rate_limit_user_requests=10**9, rate_limit_guest_requests=10**9)
    api = create_app(settings, AppServices(settings, _engine=engine))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://bench") as api_client:
        first = await api_client.get(path, headers=headers)
        if first.status_code != 200:
            raise SystemExit(f"GET {path} answered {first.status_code}: {first.text[:300]}")
        body = first.json()
        bare = httpx.ASGITransport(build_app(body))
        async with httpx.AsyncClient(transport=bare, base_url="http://bench") as bare_client:
            api_times, bare_times = [], []
            for _ in range(warmup + requests):
                api_times.append(await timed_get(api_client, path, headers, body))
                bare_times.append(await timed_get(bare_client, path, {}, body))
    return api_times[warmup:], bare_times[warmup:]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="measured requests per app (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="requests per app before measuring (default 50)")
    parser.add_argument("--database-url", help="default: a scratch database on the local PostgreSQL")
    args = parser.parse_args()
    with benchmark_database(args.database_url) as (engine, url):
        api_times, bare_times = asyncio.run(measure(engine, url, args.requests, args.warmup))
    api_p50, bare_p50 = statistics.median(api_times), statistics.median(bare_times)
    print(
        f"{args.requests} requests each on {engine.dialect.name}: "
        f"api p50 {api_p50:.2f} ms, p95 {percentile(api_times, 95):.2f} ms; "
        f"bare p50 {bare_p50:.2f} ms, p95 {percentile(bare_times, 95):.2f} ms"
    )
    print(
        f"api latency p50: {api_p50:.2f} ms vs bare {bare_p50:.2f} ms, "
        f"ratio {api_p50 / bare_p50:.2f}x (goal <= {GOAL}x)"
    )


if __name__ == "__main__":
    main()
