"""Downloading what a step left behind (screenshots, large outputs), by its owner only.

Local artifacts are streamed from the data dir. S3 artifacts (aws mode) answer `307` with a
presigned GET URL valid for `artifacts_url_ttl_s` seconds: the API Lambda's responses are buffered
and capped at 6 MB, so the bytes go from S3 to the client directly (see `shared.artifacts.s3`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from sqlmodel import select

from api.deps import CurrentUser, ServicesDep, SessionDep
from api.errors import not_found
from shared.artifacts import ArtifactMissing, LocalArtifactStore, artifact_store
from shared.db.models import Artifact

router = APIRouter(tags=["artifacts"])

# Artifact content comes from the workflows' targets: never let a browser sniff or run it here.
SAFE_DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


@router.get(
    "/artifacts/{artifact_id}",
    response_class=FileResponse,
    response_model=None,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file, with its content type."},
        307: {"description": "Stored in S3: `Location` is a presigned URL of the content, valid for a minute."},
    },
)
def download_artifact(
    artifact_id: uuid.UUID, session: SessionDep, user: CurrentUser, services: ServicesDep
) -> FileResponse | RedirectResponse:
    """The artifact's content with the content type it was stored with (or, in aws mode, a
    redirect to it). 404 for another owner's artifact, and for one whose content is gone."""
    artifact = session.exec(select(Artifact).where(Artifact.id == artifact_id, Artifact.owner_id == user.id)).first()
    if artifact is None:
        raise not_found("artifact")
    store = artifact_store(services.settings, services.engine)
    try:
        url = store.download_url(artifact)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "private, no-store"})
        path = store.path(artifact) if isinstance(store, LocalArtifactStore) else None
    except ArtifactMissing:
        raise not_found("artifact content") from None
    if path is None or not path.is_file():
        raise not_found("artifact content")
    return FileResponse(path, media_type=artifact.content_type, headers=SAFE_DOWNLOAD_HEADERS)
