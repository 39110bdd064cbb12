"""The scheduler Lambda's logic, below its thin handler (`scheduler_lambda.handler`): the tick, the
reaper, then the guest cleanup, on parts built once per Lambda container and reused by its warm
invocations (the dev process's loop runs the same function).

While the gate is shut nothing here touches the database, the reaper and the cleanup included: they
run only after a tick the gate let in. The reaper lowers the gate to the next instant a running or
dispatched execution can go stale, so a heartbeat deadline wakes the scheduler even when no
schedule is due; the cleanup never wakes it (the gate opens at least hourly, `IDLE_RECHECK`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.scheduler.guest_cleanup import GuestCleanup, GuestCleanupReport
from shared.scheduler.reaper import ReaperLimits, ReapReport, reap
from shared.scheduler.tick import DEFAULT_BATCH, RETRY_UNSENT, TickReport, run_tick

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.queue import Dispatcher
    from shared.scheduler.gate import NextWakeGate
    from shared.settings import Settings


@dataclass
class CloudTickReport:
    tick: TickReport
    reaped: ReapReport = field(default_factory=ReapReport)
    guests: GuestCleanupReport = field(default_factory=GuestCleanupReport)
    schedule_lag_s: float | None = None
    """Fire time to dispatch of the most late scheduled execution this tick sent; None if none."""


def run_cloud_tick(
    engine: Engine,
    dispatcher: Dispatcher,
    gate: NextWakeGate,
    limits: ReaperLimits,
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    guest_cleanup: GuestCleanup | None = None,
    alert_settings: Settings | None = None,
) -> CloudTickReport:
    """One tick, then (when the gate let it in) the reaper and the guest cleanup. With
    `alert_settings`, executions the reaper gives up on get their workflow's failure alert."""
    now = now or datetime.now(UTC)
    report = CloudTickReport(run_tick(engine, dispatcher, gate, now=now, batch_size=batch_size))
    if report.tick.gate_closed:
        return report
    report.reaped = reap(
        engine,
        dispatcher,
        now=now,
        stale_after_s=limits.stale_after_s,
        max_attempts=limits.max_attempts,
        undispatched_after_s=limits.undispatched_after_s,
        batch_size=batch_size,
    )
    wake = [report.reaped.next_deadline] if report.reaped.next_deadline else []
    if report.reaped.failed_dispatches:
        wake.append(now + RETRY_UNSENT)
    if wake:
        gate.lower(min(wake))
    if report.reaped.failed and alert_settings is not None:
        from shared.alerts import alert_all_failed

        alert_all_failed(engine, alert_settings, report.reaped.failed)
    if report.tick.dispatched:
        report.schedule_lag_s = schedule_lag(engine, now)
    if guest_cleanup is not None:
        report.guests = guest_cleanup.run_if_due(engine, now)
    return report


def schedule_lag(engine: Engine, dispatched_at: datetime) -> float | None:
    """Seconds from the earliest fire time among the executions stamped `dispatched_at` to now:
    one aggregate query, only on ticks that dispatched something."""
    import sqlalchemy as sa

    from shared.db.models import Execution

    executions = Execution.__table__
    query = sa.select(sa.func.min(executions.c.scheduled_for)).where(
        executions.c.dispatched_at == dispatched_at, executions.c.trigger == "schedule"
    )
    with engine.connect() as conn:
        earliest = conn.execute(query).scalar()
    if earliest is None:
        return None
    earliest = earliest.replace(tzinfo=UTC) if earliest.tzinfo is None else earliest
    return max(0.0, (datetime.now(UTC) - earliest) / timedelta(seconds=1))


def run_configured_tick(settings: Settings, *, now: datetime | None = None) -> CloudTickReport:
    """The tick on the parts `settings` describe (aws mode: PostgreSQL, SQS, the DynamoDB gate)."""
    engine, dispatcher, gate = parts_for(settings)
    limits = ReaperLimits.from_settings(settings)
    return run_cloud_tick(
        engine,
        dispatcher,
        gate,
        limits,
        now=now,
        guest_cleanup=guest_cleanup_for(settings),
        alert_settings=settings,
    )


_guest_cleanup: GuestCleanup | None = None


def guest_cleanup_for(settings: Settings) -> GuestCleanup:
    """One per process while the settings stay the same, so it remembers when it last swept."""
    global _guest_cleanup
    if _guest_cleanup is None or _guest_cleanup.settings != settings:
        _guest_cleanup = GuestCleanup(settings)
    return _guest_cleanup


def parts_for(settings: Settings) -> tuple[Engine, Dispatcher, NextWakeGate]:
    return (
        _engine(settings.resolved_database_url),
        _dispatcher(
            settings.light_queue_url,
            settings.browser_queue_url,
            settings.aws_region,
            settings.aws_endpoint_url,
            settings.sqs_send_retries,
        ),
        _gate(settings),
    )


@functools.lru_cache(maxsize=2)
def _engine(url: str) -> Engine:
    from shared.db.session import create_db_engine

    return create_db_engine(url)


@functools.lru_cache(maxsize=2)
def _dispatcher(
    light: str | None, browser: str | None, region: str | None, endpoint_url: str | None, retries: int
) -> Dispatcher:
    from shared.queue.sqs import SqsDispatcher

    if not (light and browser):
        raise RuntimeError("FLOWBUILDER_LIGHT_QUEUE_URL and FLOWBUILDER_BROWSER_QUEUE_URL must both be set")
    return SqsDispatcher(light, browser, region=region, endpoint_url=endpoint_url, retries=retries)


def _gate(settings: Settings) -> NextWakeGate:
    from shared.scheduler.gate import gate_for

    return gate_for(settings)
