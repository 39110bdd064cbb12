"""Artifacts in S3: the aws-mode backend (`settings.artifacts_bucket`).

A row's `storage_ref` is `s3://<bucket>/<key>` with key `<prefix><owner>/<execution>/<id>`, so a row
says which bucket holds its content even after the setting changes, and every object of an owner
lies under one prefix. The object is written before the row; a crash in between leaves at most an
orphan object under the owner's prefix, which `delete_owner_content` removes too.

Downloads go through a presigned GET URL (`download_url`) that the API redirects to: the bytes
then never pass through the API Lambda, whose response is buffered and capped at 6 MB (a
full-page screenshot can be larger), and S3 serves range requests and retries on its own. The URL
lives `artifacts_url_ttl_s` seconds and fixes the response's content type; anything but a raster
image is served as an attachment, so a page a workflow captured never renders as a document.

The boto3 client is created on first use, once per (region, endpoint), and shared by every store.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

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

SCHEME = "s3://"
DELETE_BATCH = 1000
"""S3's limit of keys per DeleteObjects."""
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""Shown in the browser; every other type downloads (SVG can carry script, HTML is a page)."""
MISSING_CODES = frozenset({"NoSuchKey", "404", "NoSuchBucket"})

_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def s3_client(region: str | None, endpoint_url: str | None) -> Any:
    """One client per (region, endpoint) per process, made on first use (boto3 is imported here)."""
    key = (region, endpoint_url)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(signature_version="s3v4", retries={"mode": "standard"})
                client = boto3.session.Session().client(
                    "s3", region_name=region, endpoint_url=endpoint_url, config=config
                )
                _clients[key] = client
    return client


class S3ArtifactStore:
    def __init__(
        self,
        bucket: str,
        engine: Engine,
        *,
        prefix: str = "artifacts/",
        region: str | None = None,
        endpoint_url: str | None = None,
        url_ttl_s: int = 60,
        client: Any = None,
    ) -> None:
        self.bucket, self.engine, self.prefix = bucket, engine, prefix
        self.region, self.endpoint_url, self.url_ttl_s = region, endpoint_url, url_ttl_s
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.region, self.endpoint_url)
        return self._client

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
        key = self.prefix + owner_relative_ref(artifact)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        artifact.storage_ref = f"{SCHEME}{self.bucket}/{key}"
        return commit_row(self.engine, artifact)

    def open(self, artifact: Artifact) -> BinaryIO:
        bucket, key = self._location(artifact)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except self.client.exceptions.ClientError as exc:
            if _error_code(exc) in MISSING_CODES:
                raise ArtifactMissing(str(artifact.id)) from None
            raise

    def download_url(self, artifact: Artifact) -> str:
        """A presigned GET of the content, valid `url_ttl_s` seconds (signed locally: no request)."""
        bucket, key = self._location(artifact)
        inline = artifact.content_type in INLINE_TYPES
        disposition = "inline" if inline else f'attachment; filename="{artifact.kind}-{artifact.id}"'
        params = {
            "Bucket": bucket,
            "Key": key,
            "ResponseContentType": artifact.content_type,
            "ResponseContentDisposition": disposition,
        }
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.url_ttl_s)

    def delete(self, artifact: Artifact) -> None:
        try:
            bucket, key = self._location(artifact)
        except ArtifactMissing:
            pass  # not an S3 reference: there is no object to remove
        else:
            self.client.delete_object(Bucket=bucket, Key=key)
        delete_row(self.engine, artifact)

    def delete_owner_content(self, owner_id: uuid.UUID) -> int:
        keys: dict[str, set[str]] = {}
        for ref in storage_refs_of(self.engine, owner_id):
            if ref.startswith(SCHEME):
                bucket, key = _split(ref)
                keys.setdefault(bucket, set()).add(key)
        keys.setdefault(self.bucket, set()).update(self._keys_under(f"{self.prefix}{owner_id}/"))
        return sum(self._delete_keys(bucket, sorted(bucket_keys)) for bucket, bucket_keys in keys.items())

    def _keys_under(self, prefix: str) -> Iterable[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            yield from (entry["Key"] for entry in page.get("Contents", []))

    def _delete_keys(self, bucket: str, keys: list[str]) -> int:
        """DeleteObjects, 1,000 keys a call. Keys that do not exist count as deleted (S3 says so);
        a key S3 reports as an error raises, so the caller keeps the rows and tries again later."""
        deleted = 0
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True}
            )
            if errors := response.get("Errors"):
                first = errors[0]
                raise RuntimeError(
                    f"S3 did not delete {len(errors)} object(s) of s3://{bucket}: {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
            deleted += len(chunk)
        return deleted

    def _location(self, artifact: Artifact) -> tuple[str, str]:
        if not artifact.storage_ref.startswith(SCHEME):
            raise ArtifactMissing(str(artifact.id))  # written by the local backend
        return _split(artifact.storage_ref)


def _split(ref: str) -> tuple[str, str]:
    bucket, _, key = ref[len(SCHEME) :].partition("/")
    return bucket, key


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
