"""`api/web.py`: the built app at `/` in local mode, its `/config.json`, and the dev key only for
same-site loopback browsers. Uses a stand-in `dist` folder, so nothing needs building."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web import mount_web_app
from shared.local.dev_server import DEV_KEY_FILE
from shared.settings import Settings

KEY = "fb_test_local-key"


@pytest.fixture
def dist(tmp_path, monkeypatch):
    """A stand-in build that `create_app` mounts instead of web/dist."""
    root = tmp_path / "dist"
    monkeypatch.setattr("api.web.WEB_DIST", root)
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Flow Builder</title>")
    (root / "assets" / "app-1234.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside dist")
    return root


@pytest.fixture
def settings(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / DEV_KEY_FILE).write_text(KEY + "\n")
    return Settings(data_dir=data)


def client_for(settings: Settings, dist, peer: str = "127.0.0.1") -> TestClient:
    app = create_app(settings)
    return TestClient(app, base_url="http://127.0.0.1:8000", client=(peer, 50000))


def test_client_routes_fall_back_to_the_app(settings, dist):
    client = client_for(settings, dist)

    for path in ("/", "/workflows/123", "/executions/abc"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "<title>Flow Builder</title>" in answer.text
    assert client.get("/assets/app-1234.js").text == "console.log('app')"
    assert client.get("/favicon.svg").text == "<svg/>"


def test_the_app_never_shadows_the_api(settings, dist):
    client = client_for(settings, dist)

    assert client.get("/api/health").json()["status"] == "ok"
    missing = client.get("/api/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.post("/api/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "/config.json" not in client.get("/api/openapi.json").json()["paths"]


def test_files_outside_dist_are_not_served(settings, dist):
    client = client_for(settings, dist)

    answer = client.get("/..%2fsecret.txt")

    assert "outside dist" not in answer.text


def test_page_loads_do_not_count_against_rate_limits(tmp_path, dist):
    settings = Settings(data_dir=tmp_path / "data", rate_limit_ip_requests=2)
    client = client_for(settings, dist)

    answers = [client.get("/workflows/1").status_code for _ in range(5)]

    assert answers == [200] * 5
    assert "ratelimit-limit" not in client.get("/").headers


def test_a_loopback_browser_gets_the_dev_key(settings, dist):
    config = client_for(settings, dist).get("/config.json")

    assert config.json() == {"apiBase": "/api", "mode": "local", "clerkPublishableKey": None, "localApiKey": KEY}
    assert config.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        ("10.1.2.3", {}),
        ("127.0.0.1", {"Host": "rebound.example.com:8000"}),
        ("127.0.0.1", {"Sec-Fetch-Site": "cross-site"}),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),
    ],
    ids=["another-machine", "dns-rebinding-host", "cross-site-page", "through-a-proxy"],
)
def test_no_one_else_gets_the_dev_key(settings, dist, peer, headers):
    config = client_for(settings, dist, peer).get("/config.json", headers=headers)

    assert config.status_code == 200
    assert config.json()["localApiKey"] is None


def test_nothing_is_mounted_before_the_app_is_built(settings, tmp_path, monkeypatch):
    monkeypatch.setattr("api.web.WEB_DIST", tmp_path / "not-built")
    app = create_app(settings)

    assert mount_web_app(app, settings) is False
    assert TestClient(app).get("/").status_code == 404


def test_aws_mode_does_not_serve_the_app(dist, tmp_path):
    app = create_app(Settings(data_dir=tmp_path / "aws", mode="aws"))

    assert TestClient(app).get("/config.json").status_code == 404
