"""Artifact downloads in aws mode: S3 (moto in server mode) behind a presigned redirect, to the
artifact's owner only; and deleting an account removes its artifact objects, not only rows."""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest

from shared.artifacts import artifact_store
from shared.settings import Settings
from tests.support.moto_server import REGION, aws_env, moto_endpoint

__all__ = ["aws_env", "moto_endpoint"]


@pytest.fixture
def s3(aws_env, moto_endpoint: str):
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def settings(tmp_path, s3, moto_endpoint: str) -> Settings:
    bucket = f"artifacts-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return Settings(
        data_dir=tmp_path / "data",
        artifacts_bucket=bucket,
        aws_region=REGION,
        aws_endpoint_url=moto_endpoint,
        artifacts_url_ttl_s=30,
    )


def test_the_owner_is_redirected_to_a_short_lived_url_of_the_content(caller, services):
    artifact = artifact_store(services.settings, services.engine).put(
        caller.user_id, None, "shot", "screenshot", "image/png", b"\x89PNG-bytes"
    )

    response = caller.client.get(f"/api/artifacts/{artifact.id}", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["cache-control"] == "private, no-store"
    location = response.headers["location"]
    assert "X-Amz-Expires=30" in location and "X-Amz-Signature=" in location
    content = httpx.get(location)
    assert (content.status_code, content.content, content.headers["content-type"]) == (
        200,
        b"\x89PNG-bytes",
        "image/png",
    )


def test_a_stranger_gets_no_url(caller, stranger, services):
    artifact = artifact_store(services.settings, services.engine).put(
        caller.user_id, None, None, "output", "text/plain", b"secret"
    )

    response = stranger.client.get(f"/api/artifacts/{artifact.id}", follow_redirects=False)

    assert response.status_code == 404 and "location" not in response.headers


def test_deleting_the_account_deletes_its_objects(caller, services, s3):
    store = artifact_store(services.settings, services.engine)
    for _ in range(2):
        store.put(caller.user_id, None, None, "output", "text/plain", b"x")

    assert caller.client.delete("/api/me").status_code == 204

    listed = s3.list_objects_v2(Bucket=services.settings.artifacts_bucket, Prefix=f"artifacts/{caller.user_id}/")
    assert listed.get("KeyCount", 0) == 0
