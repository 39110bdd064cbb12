"""What every artifact backend shares: the `ArtifactStore` interface, its error, and the row a
`put` records."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, BinaryIO, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from shared.db.models import Artifact

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

artifacts = Artifact.__table__


class ArtifactMissing(LookupError):
    """The row exists but its content does not (deleted, or written by another backend)."""


class ArtifactStore(Protocol):
    def put(
        self,
        owner_id: uuid.UUID,
        execution_id: uuid.UUID | None,
        node_id: str | None,
        kind: str,
        content_type: str,
        data: bytes,
    ) -> Artifact:
        """Store `data` and record it; returns the committed row."""
        ...

    def open(self, artifact: Artifact) -> BinaryIO:
        """The content for reading; raises ArtifactMissing when it is gone."""
        ...

    def download_url(self, artifact: Artifact) -> str | None:
        """A short-lived URL a client can fetch the content from directly; None when the content
        is only reachable through `open` (the local backend)."""
        ...

    def delete(self, artifact: Artifact) -> None:
        """Remove the content, then the row; content already gone is not an error."""
        ...

    def delete_owner_content(self, owner_id: uuid.UUID) -> int:
        """Remove the content of every artifact `owner_id` has (what its rows point at, and anything
        left under the owner's prefix by a `put` that crashed before its row), before the owner's
        rows go (they cascade with the user). Returns how many files or objects were removed."""
        ...


def new_artifact(
    owner_id: uuid.UUID,
    execution_id: uuid.UUID | None,
    node_id: str | None,
    kind: str,
    content_type: str,
    size: int,
) -> Artifact:
    """The row of a new artifact, its `storage_ref` left for the store to fill."""
    return Artifact(
        owner_id=owner_id,
        execution_id=execution_id,
        node_id=node_id,
        kind=kind,
        content_type=content_type,
        size=size,
        storage_ref="",
    )


def owner_relative_ref(artifact: Artifact) -> str:
    """`<owner>/<execution or none>/<artifact id>`: every artifact of an owner under one prefix."""
    return f"{artifact.owner_id}/{artifact.execution_id or 'none'}/{artifact.id}"


def commit_row(engine: Engine, artifact: Artifact) -> Artifact:
    with Session(engine, expire_on_commit=False) as session:
        session.add(artifact)
        session.commit()
    return artifact


def delete_row(engine: Engine, artifact: Artifact) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(artifacts).where(artifacts.c.id == artifact.id))


def storage_refs_of(engine: Engine, owner_id: uuid.UUID) -> list[str]:
    """Where the content of each of an owner's artifacts is (one query)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(artifacts.c.storage_ref).where(artifacts.c.owner_id == owner_id)).scalars())
