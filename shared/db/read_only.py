"""Sessions for requests that only read.

A read needs no transaction: each statement sees committed data anyway (READ COMMITTED on
PostgreSQL, a fresh snapshot per statement on SQLite). Without one, PostgreSQL is spared the
`BEGIN` and `ROLLBACK` round trips, and closing the session returns its connection to the pool
without any I/O. Because nothing here would make several writes atomic, a read-only session refuses
to write at all: a route that writes on GET fails loudly instead of half-writing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session


class ReadOnlySessionError(RuntimeError):
    """A read-only session was asked to write."""


class ReadOnlySession(Session):
    """A session on an autocommit connection that refuses to flush changes and to execute INSERT,
    UPDATE or DELETE statements."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("this request only reads: its session cannot write")


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError("this request only reads: its session cannot write")


def autocommit_engine(engine: Engine) -> Engine:
    """`engine` with its connections in autocommit while checked out; it shares `engine`'s pool.
    Keep the result: making one is not free."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def read_only_session(reader: Engine) -> ReadOnlySession:
    """A session on `reader`, an `autocommit_engine`."""
    return ReadOnlySession(reader, expire_on_commit=False, autoflush=False)
