"""An execution's events as long-poll JSON and as Server-Sent Events.

Locally the stream stays open: it replays what is after the cursor, then pushes new events as the
runner writes them (woken by the `EventNotifier`, with a database re-check every second in case a
wake-up is missed) and closes after `run_finished`. Behind Mangum (aws mode) responses are
buffered, so the same endpoint waits up to ~20 s for events after the cursor, sends them with a
`retry:` hint and closes; EventSource reconnects with `Last-Event-ID`, so clients see one stream.
A finished execution with nothing after the cursor answers 204, which tells EventSource to stop.

Waiting never blocks the event loop: database reads and notifier waits run in worker threads, and
no database connection is held while waiting.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import CurrentUser, ServicesDep, SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.schemas.executions import EventPublic, EventsPage
from api.services import AppServices
from shared.db.execution_crud import FINISHED, events_after, execution_state, owned_execution

router = APIRouter(tags=["events"])

MAX_SEQ = 2**31 - 1
EVENTS_PER_READ = 500
LONG_POLL_MAX_S = 25
RECHECK_S = 1.0
KEEPALIVE_S = 15.0
BUFFERED_WAIT_S = 20.0
RETRY_MS = 1000
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Cursor = Annotated[int, Query(ge=0, le=MAX_SEQ, description="Return events with a seq greater than this.")]


@dataclass(frozen=True)
class Snapshot:
    events: list[EventPublic]
    finished: bool
    """The execution has finished (or is gone) and `events` are all it has after the cursor."""


def read_snapshot(engine: Engine, execution_id: uuid.UUID, after: int) -> Snapshot:
    with Session(engine) as session:
        # Status first: once it reads finished, the final write (events included) is visible.
        status = execution_state(session, execution_id)
        rows = events_after(session, execution_id, after, EVENTS_PER_READ)
    finished = status is None or (status in FINISHED and len(rows) < EVENTS_PER_READ)
    return Snapshot([EventPublic.model_validate(row) for row in rows], finished)


async def wait_for_events(services: AppServices, execution_id: uuid.UUID, after: int, seconds: float) -> Snapshot:
    """Return as soon as there are events after `after` or the execution has finished; otherwise
    after `seconds` with nothing."""
    key = str(execution_id)
    deadline = time.monotonic() + seconds
    while True:
        seen = services.notifier.version(key)
        snapshot = await run_in_threadpool(read_snapshot, services.engine, execution_id, after)
        remaining = deadline - time.monotonic()
        if snapshot.events or snapshot.finished or remaining <= 0:
            return snapshot
        await run_in_threadpool(services.notifier.wait, key, seen, min(remaining, RECHECK_S))


def _ensure_owned(session: Session, owner_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """404 unless the caller owns it; then let go of the connection before any waiting."""
    try:
        if owned_execution(session, owner_id, execution_id) is None:
            raise not_found("execution")
    finally:
        session.close()


@router.get("/executions/{execution_id}/events", response_model=EventsPage)
async def poll_events(
    execution_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    services: ServicesDep,
    after: Cursor = 0,
    wait: Annotated[float, Query(ge=0, le=LONG_POLL_MAX_S, description="Seconds to wait for new events.")] = 0,
) -> EventsPage:
    """Events after `after`, in seq order. With `wait`, holds the request until there are some or the
    execution has finished, at most `wait` seconds. Pass `next_after` back as `after`; stop when
    `finished` is true."""
    await run_in_threadpool(_ensure_owned, session, user.id, execution_id)
    snapshot = await wait_for_events(services, execution_id, after, wait)
    next_after = snapshot.events[-1].seq if snapshot.events else after
    return EventsPage(events=snapshot.events, next_after=next_after, finished=snapshot.finished)


def frame(event: EventPublic) -> str:
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def _start_cursor(last_event_id: str | None, after: int) -> int:
    if last_event_id is None or not last_event_id.strip():
        return after
    value = last_event_id.strip()
    if not value.isdigit() or int(value) > MAX_SEQ:
        raise ApiError(400, "bad_request", "Last-Event-ID must be an event seq this API sent")
    return int(value)


@router.get(
    "/executions/{execution_id}/stream",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`id: <seq>`, `event: <type>`, `data: <json>`"},
        204: {"description": "The execution has finished and nothing is left after the cursor."},
    },
)
async def stream_events(
    execution_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    services: ServicesDep,
    settings: SettingsDep,
    after: Cursor = 0,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> Response:
    """Server-Sent Events of the execution, resuming after `Last-Event-ID` (or `?after=`). Local mode
    keeps the stream open until `run_finished`; aws mode waits up to ~20 s, sends what came and
    closes (EventSource reconnects)."""
    await run_in_threadpool(_ensure_owned, session, user.id, execution_id)
    cursor = _start_cursor(last_event_id, after)
    if settings.mode == "aws":
        snapshot = await wait_for_events(services, execution_id, cursor, BUFFERED_WAIT_S)
        if snapshot.finished and not snapshot.events:
            return Response(status_code=204)
        body = f"retry: {RETRY_MS}\n\n" + "".join(frame(event) for event in snapshot.events)
        return Response(body, media_type="text/event-stream", headers=SSE_HEADERS)
    seen = services.notifier.version(str(execution_id))
    first = await run_in_threadpool(read_snapshot, services.engine, execution_id, cursor)
    if first.finished and not first.events:
        return Response(status_code=204)
    return StreamingResponse(
        _live(request, services, execution_id, cursor, first, seen), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _live(
    request: Request, services: AppServices, execution_id: uuid.UUID, cursor: int, snapshot: Snapshot, seen: int
) -> AsyncIterator[str]:
    key = str(execution_id)
    last_sent = time.monotonic()
    while True:
        for event in snapshot.events:
            yield frame(event)
            cursor = event.seq
            if event.type == "run_finished":
                return
        if snapshot.finished:
            return
        if snapshot.events:
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if await request.is_disconnected():
            return
        if len(snapshot.events) < EVENTS_PER_READ:  # else more are already waiting to be read
            until_keepalive = KEEPALIVE_S - (time.monotonic() - last_sent)
            await run_in_threadpool(services.notifier.wait, key, seen, max(0.0, min(RECHECK_S, until_keepalive)))
        seen = services.notifier.version(key)
        snapshot = await run_in_threadpool(read_snapshot, services.engine, execution_id, cursor)
