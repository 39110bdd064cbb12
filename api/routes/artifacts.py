"""Downloading what a step left behind (screenshots, large outputs), by its owner only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse
from sqlmodel import select

from api.deps import CurrentUser, ServicesDep, SessionDep
from api.errors import not_found
from shared.artifacts import ArtifactMissing, artifact_store
from shared.db.models import Artifact

router = APIRouter(tags=["artifacts"])

# Artifact content comes from the workflows' targets: never let a browser sniff or run it here.
SAFE_DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


@router.get(
    "/artifacts/{artifact_id}",
    response_class=FileResponse,
    response_model=None,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file, with its content type."}},
)
def download_artifact(
    artifact_id: uuid.UUID, session: SessionDep, user: CurrentUser, services: ServicesDep
) -> FileResponse:
    """The artifact's content with the content type it was stored with. 404 for another owner's
    artifact, and for one whose content is gone."""
    artifact = session.exec(select(Artifact).where(Artifact.id == artifact_id, Artifact.owner_id == user.id)).first()
    if artifact is None:
        raise not_found("artifact")
    store = artifact_store(services.settings, services.engine)
    try:
        path = store.path(artifact)
    except ArtifactMissing:
        raise not_found("artifact content") from None
    if not path.is_file():
        raise not_found("artifact content")
    return FileResponse(path, media_type=artifact.content_type, headers=SAFE_DOWNLOAD_HEADERS)
