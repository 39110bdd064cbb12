"""Guest cleanup: what an ended guest trial leaves behind (issue 6; `shared.identity.guests`).

- Schedules of guests whose trial has ended are disabled (`schedule_enabled` false, `next_run_at`
  NULL). The due query already refuses them the moment the trial ends (`shared.scheduler.due`);
  the sweep disables the ones not yet due, so nothing shows as scheduled.
- `guest_retention_days` after the trial ended, the guest is deleted with everything of theirs:
  credentials through the vault (so Secrets Manager secrets go too), artifact content (files or S3
  objects) through the artifact store, then the user row, which cascades to workflows, versions,
  executions, steps, events, artifact rows, credentials rows and API keys. Their audit rows are
  anonymised and ledger rows keep their amounts with no owner, as for `DELETE /api/me`.

Cheap by construction: the sweep runs from the tick (the scheduler Lambda and the dev loop) only
after the gate let the tick in, and at most every `guest_cleanup_every_s` per process (a warm
Lambda container, the dev process): no schema change, and a cold start costs one extra sweep,
which finds nothing to do. Guests are deleted `guest_cleanup_batch` per transaction, at most
`MAX_BATCHES` batches per sweep; when more remain the next tick goes on. Content is removed before
rows, so a sweep that dies half-way leaves rows the next sweep finds again, never orphaned content.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shared.db.models import AuditLog, Credential, User, Workflow
from shared.identity.guests import trial_ended_at

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.settings import Settings

logger = logging.getLogger("flowbuilder.scheduler")

MAX_BATCHES = 10

users = User.__table__
workflows = Workflow.__table__
credentials = Credential.__table__
audit_logs = AuditLog.__table__


@dataclass
class GuestCleanupReport:
    ran: bool = False
    schedules_disabled: int = 0
    guests_deleted: int = 0
    credentials_deleted: int = 0
    artifacts_deleted: int = 0
    """Files or S3 objects removed."""
    failed: int = 0
    """Guests left for the next sweep because their credentials or content could not be removed."""
    more_left: bool = False


class GuestCleanup:
    """The sweep, at most every `guest_cleanup_every_s`; built once per process and reused by its ticks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.last_swept: datetime | None = None

    def run_if_due(self, engine: Engine, now: datetime) -> GuestCleanupReport:
        every = timedelta(seconds=self.settings.guest_cleanup_every_s)
        if self.last_swept is not None and self.last_swept <= now < self.last_swept + every:
            return GuestCleanupReport()
        try:
            report = sweep_guests(engine, self.settings, now)
        except Exception:  # the tick's own work is done; the next sweep tries again
            logger.exception("guest cleanup failed; trying again in %g s", every.total_seconds())
            self.last_swept = now
            return GuestCleanupReport(ran=True, failed=1)
        if not report.more_left:
            self.last_swept = now
        return report


def sweep_guests(engine: Engine, settings: Settings, now: datetime) -> GuestCleanupReport:
    report = GuestCleanupReport(ran=True, schedules_disabled=disable_ended_schedules(engine, now))
    cutoff = now - timedelta(days=settings.guest_retention_days)
    failed: set[uuid.UUID] = set()
    for _ in range(MAX_BATCHES):
        guest_ids = _expired_guests(engine, cutoff, settings.guest_cleanup_batch, exclude=failed)
        if not guest_ids:
            break
        _delete_guests(engine, settings, guest_ids, cutoff, report, failed)
        if len(guest_ids) < settings.guest_cleanup_batch:
            break
    else:
        report.more_left = bool(_expired_guests(engine, cutoff, 1, exclude=failed))
    report.failed = len(failed)
    if report.schedules_disabled or report.guests_deleted or report.failed:
        logger.info(
            "guest cleanup: %d schedule(s) disabled, %d guest(s) deleted (%d credential(s), %d artifact file(s)), "
            "%d left for a later sweep",
            report.schedules_disabled,
            report.guests_deleted,
            report.credentials_deleted,
            report.artifacts_deleted,
            report.failed,
        )
    return report


def disable_ended_schedules(engine: Engine, now: datetime) -> int:
    ended = sa.select(users.c.id).where(trial_ended_at(now))
    with engine.begin() as conn:
        return (
            conn.execute(
                workflows.update()
                .where(workflows.c.schedule_enabled.is_(True), workflows.c.owner_id.in_(ended))
                .values(schedule_enabled=False, next_run_at=None, updated_at=now)
            ).rowcount
            or 0
        )


def _expired_guests(engine: Engine, cutoff: datetime, limit: int, exclude: set[uuid.UUID]) -> list[uuid.UUID]:
    """Guests whose trial ended at or before `cutoff`, oldest first."""
    query = sa.select(users.c.id).where(trial_ended_at(cutoff)).order_by(users.c.trial_expires_at).limit(limit)
    if exclude:
        query = query.where(users.c.id.not_in(exclude))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _delete_guests(
    engine: Engine,
    settings: Settings,
    guest_ids: list[uuid.UUID],
    cutoff: datetime,
    report: GuestCleanupReport,
    failed: set[uuid.UUID],
) -> None:
    """Credentials and artifact content guest by guest, then one transaction for the rows."""
    from shared.artifacts import artifact_store
    from shared.vault.store import vault_from_settings

    store = artifact_store(settings, engine)
    with engine.connect() as conn:
        with_credentials = set(
            conn.execute(sa.select(credentials.c.owner_id).where(credentials.c.owner_id.in_(guest_ids)).distinct())
            .scalars()
            .all()
        )
    vault = vault_from_settings(engine, settings) if with_credentials else None
    deletable: list[uuid.UUID] = []
    for guest_id in guest_ids:
        try:
            if vault is not None and guest_id in with_credentials:
                report.credentials_deleted += vault.delete_all(guest_id)
            report.artifacts_deleted += store.delete_owner_content(guest_id)
        except Exception:
            logger.exception("guest %s: credentials or artifacts not removed; keeping the guest for now", guest_id)
            failed.add(guest_id)
            continue
        deletable.append(guest_id)
    if not deletable:
        return
    with engine.begin() as conn:
        conn.execute(audit_logs.update().where(audit_logs.c.actor_id.in_(deletable)).values(actor_id=None))
        deleted = conn.execute(sa.delete(users).where(users.c.id.in_(deletable), trial_ended_at(cutoff)))
        report.guests_deleted += deleted.rowcount or 0
