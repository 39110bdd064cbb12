"""Where files that steps leave behind (screenshots, large outputs) live: a small `ArtifactStore`
interface and its local backend, a directory under `settings.data_dir / "artifacts"`.

A store writes the bytes and then the `artifacts` row, so a row always points at content; a crash
in between leaves at most an orphan file. The S3 backend (aws mode) implements the same interface.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from sqlmodel import Session

from shared.db.models import Artifact

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.settings import Settings


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


class LocalArtifactStore:
    def __init__(self, root: Path, engine: Engine) -> None:
        self.root = root
        self.engine = engine

    def put(
        self,
        owner_id: uuid.UUID,
        execution_id: uuid.UUID | None,
        node_id: str | None,
        kind: str,
        content_type: str,
        data: bytes,
    ) -> Artifact:
        artifact = Artifact(
            owner_id=owner_id,
            execution_id=execution_id,
            node_id=node_id,
            kind=kind,
            content_type=content_type,
            size=len(data),
            storage_ref="",
        )
        artifact.storage_ref = f"{owner_id}/{execution_id or 'none'}/{artifact.id}"
        path = self.path(artifact)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(artifact)
            session.commit()
        return artifact

    def path(self, artifact: Artifact) -> Path:
        """The file of an artifact; a reference that would lead outside the store is missing."""
        root = self.root.resolve()
        path = (root / artifact.storage_ref).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ArtifactMissing(str(artifact.id))
        return path

    def open(self, artifact: Artifact) -> BinaryIO:
        try:
            return self.path(artifact).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ArtifactMissing(str(artifact.id)) from None


def artifact_store(settings: Settings, engine: Engine) -> LocalArtifactStore:
    """The store for these settings (only the local backend so far)."""
    return LocalArtifactStore(settings.data_dir / "artifacts", engine)
