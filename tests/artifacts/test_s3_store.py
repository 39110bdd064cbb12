"""The S3 artifact store against moto in server mode on both databases: object then row, streamed
reads, presigned downloads, and deletes that leave no object behind."""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.artifacts import ArtifactMissing, LocalArtifactStore, artifact_store
from shared.artifacts.s3 import S3ArtifactStore, s3_client
from shared.db.models import Artifact, User
from shared.settings import Settings
from tests.support.moto_server import REGION


@pytest.fixture
def s3(aws_env, moto_endpoint: str):
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def bucket(s3) -> str:
    name = f"artifacts-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def settings(tmp_path, bucket: str, moto_endpoint: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", artifacts_bucket=bucket, aws_region=REGION, aws_endpoint_url=moto_endpoint
    )


@pytest.fixture
def store(settings: Settings, engine: Engine) -> S3ArtifactStore:
    made = artifact_store(settings, engine)
    assert isinstance(made, S3ArtifactStore)
    return made


@pytest.fixture
def owner(engine: Engine) -> uuid.UUID:
    with Session(engine) as session:
        user = User(kind="user")
        session.add(user)
        session.commit()
        return user.id


def keys_under(s3, bucket: str, prefix: str = "") -> list[str]:
    return [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def row(engine: Engine, artifact_id: uuid.UUID) -> Artifact | None:
    with Session(engine) as session:
        return session.get(Artifact, artifact_id)


def test_put_writes_the_object_then_the_row(s3, bucket, store, owner, engine):
    artifact = store.put(owner, None, "shot", "screenshot", "image/png", b"\x89PNG-bytes")

    key = f"artifacts/{owner}/none/{artifact.id}"
    assert artifact.storage_ref == f"s3://{bucket}/{key}"
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert (stored["Body"].read(), stored["ContentType"]) == (b"\x89PNG-bytes", "image/png")
    saved = row(engine, artifact.id)
    assert (saved.owner_id, saved.kind, saved.size, saved.storage_ref) == (
        owner,
        "screenshot",
        10,
        artifact.storage_ref,
    )


def test_open_streams_the_content(store, owner):
    data = bytes(range(256)) * 4096  # 1 MiB
    artifact = store.put(owner, None, None, "output", "application/octet-stream", data)

    with store.open(artifact) as body:
        chunks = [body.read(65536) for _ in range(17)]

    assert b"".join(chunks) == data


def test_content_that_is_gone_is_missing(s3, bucket, store, owner):
    artifact = store.put(owner, None, None, "output", "application/json", b"{}")
    s3.delete_object(Bucket=bucket, Key=artifact.storage_ref.split("/", 3)[3])

    with pytest.raises(ArtifactMissing):
        store.open(artifact)


def test_a_local_reference_is_missing_in_s3(store, owner, settings, engine):
    local = LocalArtifactStore(settings.data_dir / "artifacts", engine).put(
        owner, None, None, "output", "text/plain", b"x"
    )

    with pytest.raises(ArtifactMissing):
        store.open(local)


def test_the_download_url_serves_the_content_with_its_type(store, owner):
    image = store.put(owner, None, None, "screenshot", "image/png", b"\x89PNG")
    page = store.put(owner, None, None, "output", "text/html", b"<script>alert(1)</script>")

    shown = httpx.get(store.download_url(image))
    saved = httpx.get(store.download_url(page))

    assert (shown.status_code, shown.content, shown.headers["content-type"]) == (200, b"\x89PNG", "image/png")
    assert shown.headers["content-disposition"] == "inline"
    assert saved.headers["content-type"] == "text/html"
    assert saved.headers["content-disposition"] == f'attachment; filename="output-{page.id}"'
    assert "X-Amz-Expires=60" in store.download_url(image)


def test_delete_removes_the_object_and_the_row(s3, bucket, store, owner, engine):
    artifact = store.put(owner, None, None, "output", "text/plain", b"x")

    store.delete(artifact)

    assert keys_under(s3, bucket, f"artifacts/{owner}/") == []
    assert row(engine, artifact.id) is None


def test_delete_owner_content_removes_every_object_of_the_owner_only(s3, bucket, store, owner, engine):
    mine = [store.put(owner, None, None, "output", "text/plain", b"x") for _ in range(3)]
    orphan_key = f"artifacts/{owner}/none/{uuid.uuid4()}"  # a put that died before its row
    s3.put_object(Bucket=bucket, Key=orphan_key, Body=b"orphan")
    other_owner = User(kind="user")
    with Session(engine) as session:
        session.add(other_owner)
        session.commit()
        other_id = other_owner.id
    theirs = store.put(other_id, None, None, "output", "text/plain", b"y")

    removed = store.delete_owner_content(owner)

    assert removed == 4
    assert keys_under(s3, bucket, f"artifacts/{owner}/") == []
    assert keys_under(s3, bucket, f"artifacts/{other_id}/") == [theirs.storage_ref.split("/", 3)[3]]
    assert all(row(engine, artifact.id) is not None for artifact in mine)  # rows go with the user


def test_content_moved_to_another_owner_is_found_by_its_rows(s3, bucket, store, owner, engine):
    """A claimed guest's artifacts keep their keys under the guest's prefix."""
    artifact = store.put(owner, None, None, "output", "text/plain", b"x")
    new_owner = User(kind="user")
    with Session(engine) as session:
        session.add(new_owner)
        session.get(Artifact, artifact.id).owner_id = new_owner.id
        session.commit()
        new_owner_id = new_owner.id

    assert store.delete_owner_content(new_owner_id) == 1
    assert keys_under(s3, bucket, f"artifacts/{owner}/") == []


def test_the_client_is_created_lazily_and_shared(settings, engine, moto_endpoint):
    first, second = artifact_store(settings, engine), artifact_store(settings, engine)
    assert first._client is None

    assert first.client is second.client is s3_client(REGION, moto_endpoint)


def test_without_a_bucket_artifacts_stay_in_the_data_dir(tmp_path, engine):
    assert isinstance(artifact_store(Settings(data_dir=tmp_path), engine), LocalArtifactStore)
