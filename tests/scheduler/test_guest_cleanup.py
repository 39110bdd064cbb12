"""Guest cleanup on SQLite and PostgreSQL: ended trials get no scheduled runs, their schedules are
disabled, and their data (rows, credentials, artifact files or S3 objects, keys) goes after the
retention period; owners out of credits get a failed run that says why instead of a dispatch.

The database is shared with other test modules, so the clock is set in 2001: only this module's
guests (trials ending around then) are old enough to be swept."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.artifacts import LocalArtifactStore, artifact_store
from shared.db.crud import create_workflow, queue_execution
from shared.db.models import (
    ApiKey,
    Artifact,
    AuditLog,
    Credential,
    CreditLedgerEntry,
    Execution,
    ExecutionEvent,
    StepRun,
    User,
    Workflow,
)
from shared.identity.api_keys import issue_api_key
from shared.scheduler import FileGate
from shared.scheduler.cloud_tick import run_cloud_tick
from shared.scheduler.guest_cleanup import GuestCleanup, sweep_guests
from shared.scheduler.reaper import ReaperLimits
from shared.scheduler.tick import run_tick
from shared.settings import Settings
from shared.vault.store import vault_from_settings
from tests.scheduler.test_tick import HELLO, RecordingDispatcher, recorded_statements
from tests.support.moto_server import REGION

NOW = datetime(2001, 6, 1, 12, 0, 20, tzinfo=UTC)
DUE = NOW.replace(second=0)
RETENTION = timedelta(days=7)
PAID = {"nodes": [{"id": "call", "type": "http.request", "config": {"url": "https://example.com/"}}], "edges": []}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", guest_retention_days=7, guest_cleanup_every_s=3600)


@pytest.fixture
def make_owner(engine: Engine) -> Iterator[Callable[..., uuid.UUID]]:
    """Users of this test (a guest when `trial_expires_at` is given), deleted afterwards."""
    made: list[uuid.UUID] = []

    def make(trial_expires_at: datetime | None = None, *, kind: str = "guest", credits: int = 100) -> uuid.UUID:
        with Session(engine) as session:
            user = User(kind=kind, trial_expires_at=trial_expires_at, credits=credits)
            session.add(user)
            session.commit()
            made.append(user.id)
            return user.id

    yield make
    with engine.begin() as conn:
        conn.execute(sa.delete(User).where(User.id.in_(made)))


def scheduled_workflow(
    engine: Engine, owner_id: uuid.UUID, next_run_at: datetime = DUE, definition: dict = HELLO
) -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "scheduled", definition, status="active")
        workflow.cron, workflow.schedule_enabled, workflow.next_run_at = "* * * * *", True, next_run_at
        session.add(workflow)
        session.commit()
        return workflow.id


def schedule_of(engine: Engine, workflow_id: uuid.UUID) -> tuple[bool, datetime | None]:
    with Session(engine) as session:
        workflow = session.get(Workflow, workflow_id)
        return workflow.schedule_enabled, workflow.next_run_at


def count(engine: Engine, model, **where) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def fill_account(engine: Engine, settings: Settings, owner_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """A workflow with an execution, a step, an event, an artifact, a credential, an API key, a
    ledger row and an audit row: one of everything a guest can leave behind."""
    workflow_id = scheduled_workflow(engine, owner_id, next_run_at=NOW + timedelta(days=1))
    with Session(engine) as session:
        execution = queue_execution(session, session.get(Workflow, workflow_id), trigger="manual")
        session.add(StepRun(execution_id=execution.id, node_id="hello", node_type="text.combine", status="succeeded"))
        session.add(ExecutionEvent(execution_id=execution.id, seq=1, type="run_started"))
        session.add(CreditLedgerEntry(owner_id=owner_id, delta=25, reason="guest_trial"))
        session.add(AuditLog(actor_id=owner_id, action="workflow.create", target_type="workflow"))
        issue_api_key(session, owner_id, "guest", "full")
        session.commit()
        execution_id = execution.id
    vault_from_settings(engine, settings).create(owner_id, "github", "bearer", {"token": "ghp-guest"})
    artifact = artifact_store(settings, engine).put(owner_id, execution_id, "hello", "output", "text/plain", b"hi")
    return {"workflow": workflow_id, "execution": execution_id, "artifact": artifact.id}


def test_a_due_schedule_of_an_ended_trial_is_disabled_and_queues_nothing(engine, make_owner, tmp_path):
    ended = scheduled_workflow(engine, make_owner(trial_expires_at=NOW - timedelta(hours=1)))
    trying = scheduled_workflow(engine, make_owner(trial_expires_at=NOW + timedelta(days=1)))
    dispatcher = RecordingDispatcher()

    report = run_tick(engine, dispatcher, FileGate(tmp_path / "gate"), now=NOW)

    assert count(engine, Execution, workflow_id=ended) == 0
    assert schedule_of(engine, ended) == (False, None)
    assert count(engine, Execution, workflow_id=trying) == 1
    assert schedule_of(engine, trying) == (True, DUE + timedelta(minutes=1))
    assert report.disabled_guest_schedules == 1


def test_the_sweep_disables_every_schedule_of_an_ended_trial(engine, make_owner, settings):
    ended = scheduled_workflow(engine, make_owner(trial_expires_at=NOW - timedelta(hours=1)), NOW + timedelta(days=2))
    trying = scheduled_workflow(engine, make_owner(trial_expires_at=NOW + timedelta(hours=1)), NOW + timedelta(days=2))
    user = scheduled_workflow(engine, make_owner(kind="user"), NOW + timedelta(days=2))

    report = sweep_guests(engine, settings, NOW)

    assert schedule_of(engine, ended) == (False, None)
    assert schedule_of(engine, trying) == (True, NOW + timedelta(days=2))
    assert schedule_of(engine, user) == (True, NOW + timedelta(days=2))
    assert report.schedules_disabled >= 1


def test_a_guest_past_retention_is_deleted_with_all_their_data(engine, make_owner, settings):
    expired = make_owner(trial_expires_at=NOW - RETENTION - timedelta(minutes=1))
    kept = make_owner(trial_expires_at=NOW - RETENTION + timedelta(minutes=1))
    gone, stays = fill_account(engine, settings, expired), fill_account(engine, settings, kept)
    store = artifact_store(settings, engine)
    assert isinstance(store, LocalArtifactStore)
    with Session(engine) as session:
        gone_file = store.path(session.get(Artifact, gone["artifact"]))
        stays_file = store.path(session.get(Artifact, stays["artifact"]))

    report = sweep_guests(engine, settings, NOW)

    assert count(engine, User, id=expired) == 0
    for model, column in ((Workflow, "owner_id"), (Execution, "owner_id"), (Credential, "owner_id")):
        assert count(engine, model, **{column: expired}) == 0, model.__name__
    assert count(engine, ApiKey, owner_id=expired) == count(engine, Artifact, owner_id=expired) == 0
    assert count(engine, StepRun, execution_id=gone["execution"]) == 0
    assert count(engine, ExecutionEvent, execution_id=gone["execution"]) == 0
    assert count(engine, AuditLog, actor_id=expired) == count(engine, CreditLedgerEntry, owner_id=expired) == 0
    assert not gone_file.exists()
    assert (report.guests_deleted, report.credentials_deleted, report.artifacts_deleted) >= (1, 1, 1)

    assert count(engine, User, id=kept) == 1
    assert count(engine, StepRun, execution_id=stays["execution"]) == 1
    assert count(engine, Credential, owner_id=kept) == count(engine, ApiKey, owner_id=kept) == 1
    assert stays_file.read_bytes() == b"hi"


def test_signed_in_users_are_never_swept(engine, make_owner, settings):
    user = make_owner(NOW - timedelta(days=365), kind="user")
    fill_account(engine, settings, user)

    sweep_guests(engine, settings, NOW)

    assert count(engine, User, id=user) == 1
    assert count(engine, Artifact, owner_id=user) == 1


def test_guests_are_deleted_in_batches_within_one_sweep(engine, make_owner, settings):
    settings = settings.model_copy(update={"guest_cleanup_batch": 2})
    guests = [make_owner(trial_expires_at=NOW - RETENTION - timedelta(days=1, minutes=i)) for i in range(5)]

    report = sweep_guests(engine, settings, NOW)

    assert [count(engine, User, id=guest) for guest in guests] == [0] * 5
    assert report.guests_deleted >= 5 and not report.more_left


def test_the_sweep_runs_at_most_once_per_interval(engine, make_owner, settings):
    cleanup = GuestCleanup(settings)
    assert cleanup.run_if_due(engine, NOW).ran
    make_owner(trial_expires_at=NOW - RETENTION - timedelta(days=1))

    with recorded_statements(engine) as statements:
        again = cleanup.run_if_due(engine, NOW + timedelta(minutes=59))

    assert not again.ran and statements == []
    later = cleanup.run_if_due(engine, NOW + timedelta(minutes=61))
    assert later.ran and later.guests_deleted >= 1


def test_the_tick_sweeps_only_when_the_gate_lets_it_in(engine, make_owner, settings, tmp_path):
    guest = make_owner(trial_expires_at=NOW - RETENTION - timedelta(days=1))
    gate = FileGate(tmp_path / "gate")
    gate.set(NOW + timedelta(minutes=5))
    limits = ReaperLimits()

    with recorded_statements(engine) as statements:
        shut = run_cloud_tick(
            engine, RecordingDispatcher(), gate, limits, now=NOW, guest_cleanup=GuestCleanup(settings)
        )
    assert shut.tick.gate_closed and not shut.guests.ran and statements == []
    assert count(engine, User, id=guest) == 1

    gate.set(None)
    opened = run_cloud_tick(engine, RecordingDispatcher(), gate, limits, now=NOW, guest_cleanup=GuestCleanup(settings))
    assert opened.guests.ran and count(engine, User, id=guest) == 0


def test_scheduled_runs_of_an_owner_out_of_credits_are_not_dispatched_and_say_why(engine, make_owner, tmp_path):
    broke = scheduled_workflow(engine, make_owner(kind="user", credits=0), definition=PAID)
    funded = scheduled_workflow(engine, make_owner(kind="user", credits=100), definition=PAID)
    dispatcher = RecordingDispatcher()

    report = run_tick(engine, dispatcher, FileGate(tmp_path / "gate"), now=NOW)

    with Session(engine) as session:
        [refused] = session.exec(sa.select(Execution).where(Execution.workflow_id == broke)).scalars().all()
        [queued] = session.exec(sa.select(Execution).where(Execution.workflow_id == funded)).scalars().all()
    assert refused.id not in dispatcher.sent_ids() and queued.id in dispatcher.sent_ids()
    assert (refused.status, refused.finished_at) == ("failed", NOW)
    assert "out of credits" in refused.error and "balance 0" in refused.error
    assert report.refused_credits == 1


# --- S3 artifacts (moto in server mode) ------------------------------------------------------------


@pytest.fixture
def s3_settings(settings, aws_env, moto_endpoint) -> Settings:
    bucket = f"artifacts-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return settings.model_copy(
        update={"artifacts_bucket": bucket, "aws_region": REGION, "aws_endpoint_url": moto_endpoint}
    )


def test_an_expired_guests_s3_objects_are_deleted(engine, make_owner, s3_settings, moto_endpoint):
    guest = make_owner(trial_expires_at=NOW - RETENTION - timedelta(days=1))
    artifact = artifact_store(s3_settings, engine).put(guest, None, None, "screenshot", "image/png", b"\x89PNG")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)

    sweep_guests(engine, s3_settings, NOW)

    listed = s3.list_objects_v2(Bucket=s3_settings.artifacts_bucket, Prefix=f"artifacts/{guest}/")
    assert listed.get("KeyCount", 0) == 0
    assert count(engine, Artifact, id=artifact.id) == count(engine, User, id=guest) == 0


def test_a_guest_whose_content_cannot_be_removed_is_kept_for_a_later_sweep(engine, make_owner, s3_settings):
    guest = make_owner(trial_expires_at=NOW - RETENTION - timedelta(days=1))
    with Session(engine) as session:
        session.add(Artifact(owner_id=guest, kind="output", storage_ref="s3://no-such-bucket/artifacts/x"))
        session.commit()

    report = sweep_guests(engine, s3_settings, NOW)

    assert report.failed >= 1
    assert count(engine, User, id=guest) == 1 and count(engine, Artifact, owner_id=guest) == 1
