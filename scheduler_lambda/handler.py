"""The scheduler Lambda's handler: Powertools logging and metrics around
`shared.scheduler.cloud_tick` (the dev process's loop runs the same tick and reaper).

Only the Powertools objects are built at import; settings, the engine, the SQS and DynamoDB clients
are built on the first invocation and reused by the warm ones.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "flowbuilder-scheduler")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FlowBuilder")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from shared.scheduler.cloud_tick import run_configured_tick
    from shared.settings import get_settings

    report = run_configured_tick(get_settings())
    record_metrics(report)
    summary = summarise(report)
    if report.guests.ran:
        logger.info("guest cleanup", extra=summary["guest_cleanup"])
    logger.info("tick done", extra=summary)
    return summary


def record_metrics(report) -> None:
    tick, reaped = report.tick, report.reaped
    metrics.add_metric(name="Due", unit=MetricUnit.Count, value=tick.due)
    metrics.add_metric(name="Dispatched", unit=MetricUnit.Count, value=tick.dispatched + reaped.dispatched)
    metrics.add_metric(
        name="FailedDispatches", unit=MetricUnit.Count, value=tick.failed_dispatches + reaped.failed_dispatches
    )
    metrics.add_metric(name="Reaped", unit=MetricUnit.Count, value=reaped.reaped)
    metrics.add_metric(name="StaleExecutions", unit=MetricUnit.Count, value=reaped.stale)
    if report.schedule_lag_s is not None:
        metrics.add_metric(name="ScheduleLag", unit=MetricUnit.Seconds, value=report.schedule_lag_s)
    metrics.add_metric(name="OutOfCreditsRuns", unit=MetricUnit.Count, value=tick.refused_credits)
    guests = report.guests
    disabled = tick.disabled_guest_schedules + guests.schedules_disabled
    metrics.add_metric(name="GuestSchedulesDisabled", unit=MetricUnit.Count, value=disabled)
    if guests.ran:
        metrics.add_metric(name="GuestsDeleted", unit=MetricUnit.Count, value=guests.guests_deleted)
        metrics.add_metric(name="GuestCleanupFailures", unit=MetricUnit.Count, value=guests.failed)


def summarise(report) -> dict[str, Any]:
    tick, reaped = report.tick, report.reaped
    return {
        "gate_closed": tick.gate_closed,
        "next_wake": tick.next_wake.isoformat() if tick.next_wake else None,
        "due": tick.due,
        "queued": tick.created,
        "dispatched": tick.dispatched + reaped.dispatched,
        "failed_dispatches": tick.failed_dispatches + reaped.failed_dispatches,
        "requeued": len(reaped.requeued),
        "failed_stale": len(reaped.failed),
        "redispatched": len(reaped.redispatched),
        "schedule_lag_s": report.schedule_lag_s,
        "out_of_credits": tick.refused_credits,
        "guest_cleanup": {
            "ran": report.guests.ran,
            "schedules_disabled": tick.disabled_guest_schedules + report.guests.schedules_disabled,
            "guests_deleted": report.guests.guests_deleted,
            "credentials_deleted": report.guests.credentials_deleted,
            "artifacts_deleted": report.guests.artifacts_deleted,
            "failed": report.guests.failed,
        },
    }
