"""Artifacts in a directory (`settings.data_dir / "artifacts"`): the local backend.

The bytes are written (to a `.partial` file, renamed into place) before the row, so a row always
points at content; a crash in between leaves at most an orphan file under the owner's directory,
which `delete_owner_content` removes too.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from shared.artifacts.types import (
    ArtifactMissing,
    commit_row,
    delete_row,
    new_artifact,
    owner_relative_ref,
    storage_refs_of,
)
from shared.db.models import Artifact

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


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
        artifact = new_artifact(owner_id, execution_id, node_id, kind, content_type, len(data))
        artifact.storage_ref = owner_relative_ref(artifact)
        path = self.path(artifact)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
        return commit_row(self.engine, artifact)

    def path(self, artifact: Artifact) -> Path:
        """The file of an artifact; a reference that would lead outside the store is missing."""
        return self._path_of(artifact.storage_ref, str(artifact.id))

    def open(self, artifact: Artifact) -> BinaryIO:
        try:
            return self.path(artifact).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ArtifactMissing(str(artifact.id)) from None

    def download_url(self, artifact: Artifact) -> None:
        return None

    def delete(self, artifact: Artifact) -> None:
        self._unlink(artifact.storage_ref)
        delete_row(self.engine, artifact)

    def delete_owner_content(self, owner_id: uuid.UUID) -> int:
        removed = sum(self._unlink(ref) for ref in storage_refs_of(self.engine, owner_id))
        owner_dir = self.root / str(owner_id)
        if owner_dir.is_dir():
            removed += sum(1 for path in owner_dir.rglob("*") if path.is_file())
            shutil.rmtree(owner_dir, ignore_errors=True)
        return removed

    def _unlink(self, ref: str) -> bool:
        try:
            self._path_of(ref, ref).unlink()
        except (ArtifactMissing, FileNotFoundError, IsADirectoryError):
            return False
        return True

    def _path_of(self, ref: str, name: str) -> Path:
        root = self.root.resolve()
        path = (root / ref).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ArtifactMissing(name)
        return path
