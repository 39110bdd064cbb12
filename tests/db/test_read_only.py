"""Read-only sessions read without a transaction and refuse to write, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from shared.db.models import User
from shared.db.read_only import ReadOnlySessionError, autocommit_engine, read_only_session


@pytest.fixture
def stored_user(engine) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = User(kind="user", email="reader@example.com", credits=7)
        session.add(user)
        session.commit()
    return user


def test_it_reads_what_is_committed(engine, stored_user):
    with read_only_session(autocommit_engine(engine)) as session:
        found = session.get(User, stored_user.id)

        assert (found.email, found.credits) == ("reader@example.com", 7)


def test_it_sees_a_commit_made_between_two_of_its_reads(engine, stored_user):
    with read_only_session(autocommit_engine(engine)) as session:
        assert session.exec(select(User.credits).where(User.id == stored_user.id)).one() == 7
        with Session(engine) as writer:
            writer.execute(sa.update(User).where(User.id == stored_user.id).values(credits=9))
            writer.commit()

        assert session.exec(select(User.credits).where(User.id == stored_user.id)).one() == 9


@pytest.mark.parametrize("change", ["add", "modify", "delete"])
def test_it_refuses_to_flush_a_change(engine, stored_user, change):
    with read_only_session(autocommit_engine(engine)) as session:
        if change == "add":
            session.add(User(kind="user", email="intruder@example.com"))
        elif change == "modify":
            session.get(User, stored_user.id).credits = 1000
        else:
            session.delete(session.get(User, stored_user.id))

        with pytest.raises(ReadOnlySessionError):
            session.flush()

    with Session(engine) as session:
        assert session.get(User, stored_user.id).credits == 7
        assert session.exec(select(User).where(User.email == "intruder@example.com")).first() is None


def test_it_refuses_update_and_delete_statements(engine, stored_user):
    with read_only_session(autocommit_engine(engine)) as session:
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.update(User).where(User.id == stored_user.id).values(credits=0))
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.delete(User).where(User.id == stored_user.id))

    with Session(engine) as session:
        assert session.get(User, stored_user.id).credits == 7


def test_on_postgresql_no_transaction_is_opened(database_urls):
    """`now()` is the start of the transaction: two statements in one transaction see the same
    value, two autocommit statements each their own."""
    from shared.db.session import create_db_engine

    engine = create_db_engine(database_urls["postgresql"])
    try:
        with read_only_session(autocommit_engine(engine)) as session:
            first = session.execute(sa.text("SELECT now()")).scalar_one()
            second = session.execute(sa.text("SELECT now()")).scalar_one()
        with Session(engine) as session:
            in_transaction = [session.execute(sa.text("SELECT now()")).scalar_one() for _ in range(2)]

        assert first != second
        assert in_transaction[0] == in_transaction[1]
    finally:
        engine.dispose()


def test_a_connection_it_returned_is_transactional_again(database_urls):
    from shared.db.session import create_db_engine

    engine = create_db_engine(database_urls["postgresql"])
    try:
        with read_only_session(autocommit_engine(engine)) as session:
            session.execute(sa.text("SELECT 1"))
        with Session(engine) as session:
            session.execute(sa.text("SELECT 1"))
            status = session.connection().connection.dbapi_connection.info.transaction_status

        assert status.name == "INTRANS"
    finally:
        engine.dispose()
