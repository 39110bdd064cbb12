"""Failure alerts: when an execution ends `failed`, tell whoever its workflow's `notify_on_failure`
names (an email address and/or a webhook URL), once.

Workers call `alert_if_failed` after writing the outcome: the Fargate task and the light-lane Lambda
(`shared.workers.execute`) and the dev process's pool (`shared.local.worker_pool`); the scheduler
calls `alert_all_failed` for the executions its reaper gives up on. It never raises:
a failed alert is logged, and recorded in the execution's events, but changes nothing stored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.engine.context import CredentialProvider
    from shared.settings import Settings

logger = logging.getLogger("flowbuilder.alerts")


async def alert_if_failed(
    engine: Engine, settings: Settings, execution_id: uuid.UUID, credentials: CredentialProvider
) -> dict[str, str] | None:
    """Send the failure alert of `execution_id` if it failed and its workflow wants one, and it was
    not sent already. Returns each channel's outcome, or None when there was nothing to send."""
    from shared.alerts.delivery import post_webhook, send_email
    from shared.alerts.report import claim_alert, record_result

    try:
        claim = await asyncio.to_thread(claim_alert, engine, execution_id, settings.public_url)
    except Exception:
        logger.exception("execution %s: could not prepare the failure alert", execution_id)
        return None
    if claim is None:
        return None
    channels = {}
    if claim.targets.get("email"):
        channels["email"] = _outcome(execution_id, "email", send_email(claim, settings, credentials), "sent to {}")
    if claim.targets.get("webhook_url"):
        channels["webhook"] = _outcome(execution_id, "webhook", post_webhook(claim, settings), "answered HTTP {}")
    outcomes = dict(zip(channels, await asyncio.gather(*channels.values()), strict=True))
    for channel, outcome in outcomes.items():
        log = logger.warning if outcome.startswith("failed") else logger.info
        log("execution %s: failure alert %s %s", execution_id, channel, outcome)
    try:
        await asyncio.to_thread(record_result, engine, execution_id, claim.seq, outcomes)
    except Exception:
        logger.exception("execution %s: could not record the failure alert's outcome", execution_id)
    return outcomes


async def _outcome(execution_id: uuid.UUID, channel: str, sending: Awaitable[object], success: str) -> str:
    from shared.alerts.delivery import AlertFailed

    try:
        return success.format(await sending)
    except AlertFailed as exc:
        return f"failed: {exc}"
    except Exception as exc:
        logger.exception("execution %s: the failure alert's %s crashed", execution_id, channel)
        return f"failed: {type(exc).__name__}"


def alert_all_failed(engine: Engine, settings: Settings, execution_ids: list[uuid.UUID]) -> None:
    """`alert_if_failed` for each execution, concurrently, from synchronous code (the scheduler's
    tick); never raises."""
    from shared.vault.store import vault_from_settings

    try:
        credentials = vault_from_settings(engine, settings)

        async def send_all() -> None:
            await asyncio.gather(*(alert_if_failed(engine, settings, eid, credentials) for eid in execution_ids))

        asyncio.run(send_all())
    except Exception:
        logger.exception("could not send the failure alerts of %d reaped execution(s)", len(execution_ids))
