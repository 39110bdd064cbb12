"""Where files that steps leave behind (screenshots, large outputs) live: the `ArtifactStore`
interface and its backends, a directory under `settings.data_dir / "artifacts"` locally
(`shared.artifacts.local`) and an S3 bucket when `settings.artifacts_bucket` is set
(`shared.artifacts.s3`, aws mode).

Every store writes the bytes and then the `artifacts` row, so a row always points at content, and
removes content before rows (`delete`, `delete_owner_content`), so no content outlives its row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.artifacts.local import LocalArtifactStore
from shared.artifacts.types import ArtifactMissing, ArtifactStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shared.settings import Settings

__all__ = ["ArtifactMissing", "ArtifactStore", "LocalArtifactStore", "artifact_store"]


def artifact_store(settings: Settings, engine: Engine) -> ArtifactStore:
    """S3 when `artifacts_bucket` is set (boto3 imported only then), the data dir otherwise."""
    if settings.artifacts_bucket:
        from shared.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore(
            settings.artifacts_bucket,
            engine,
            prefix=settings.artifacts_prefix,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            url_ttl_s=settings.artifacts_url_ttl_s,
        )
    return LocalArtifactStore(settings.data_dir / "artifacts", engine)
