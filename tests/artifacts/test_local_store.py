"""The local artifact store's deletes: content before rows, nothing of another owner touched."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.artifacts import LocalArtifactStore
from shared.db.models import Artifact, User


@pytest.fixture
def store(tmp_path, engine: Engine) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts", engine)


def new_owner(engine: Engine) -> uuid.UUID:
    with Session(engine) as session:
        user = User(kind="user")
        session.add(user)
        session.commit()
        return user.id


def test_delete_removes_the_file_and_the_row(store, engine):
    artifact = store.put(new_owner(engine), None, None, "output", "text/plain", b"x")
    path = store.path(artifact)

    store.delete(artifact)

    assert not path.exists()
    with Session(engine) as session:
        assert session.get(Artifact, artifact.id) is None


def test_delete_owner_content_removes_the_owners_files_and_orphans_only(store, engine):
    owner, other = new_owner(engine), new_owner(engine)
    mine = store.put(owner, None, "a", "output", "text/plain", b"x")
    orphan = store.root / str(owner) / "none" / "left-by-a-crash"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    theirs = store.put(other, None, None, "output", "text/plain", b"y")

    assert store.delete_owner_content(owner) == 2

    assert not store.path(mine).exists() and not orphan.exists()
    assert not (store.root / str(owner)).exists()
    assert store.path(theirs).read_bytes() == b"y"


def test_a_reference_outside_the_store_is_never_deleted(store, engine, tmp_path):
    outside = tmp_path / "precious"
    outside.write_bytes(b"keep")
    owner = new_owner(engine)
    with Session(engine) as session:
        session.add(Artifact(owner_id=owner, kind="output", storage_ref="../precious"))
        session.commit()

    store.delete_owner_content(owner)

    assert outside.read_bytes() == b"keep"
