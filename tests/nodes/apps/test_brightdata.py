"""`brightdata.fetch` against a local server speaking Bright Data's Web Unlocker API (`POST /request`)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.brightdata import FetchConfig
from tests.support.http_server import Reply


@pytest.fixture
def brightdata(server):
    return {"bd": {"type": "brightdata", "token": "bd-key", "base_url": server.url("/")}}


async def test_fetches_raw_page_with_bearer_key(server, run_node, brightdata) -> None:
    server.route("/request", Reply(body=b"<html><h1>Price: 12</h1></html>", headers={"Content-Type": "text/html"}))

    output = await run_node(
        "brightdata.fetch",
        {"credential": "bd", "zone": "web_unlocker1", "url": "https://shop.example/item/7", "country": "US"},
        credentials=brightdata,
    )

    [received] = server.received
    assert (received.method, received.path) == ("POST", "/request")
    assert received.headers["authorization"] == "Bearer bd-key"
    assert received.json() == {
        "zone": "web_unlocker1",
        "url": "https://shop.example/item/7",
        "format": "raw",
        "country": "us",
    }
    assert "idempotency-key" not in received.headers
    assert output == {
        "status": 200,
        "content_type": "text/html",
        "body": "<html><h1>Price: 12</h1></html>",
        "body_base64": False,
    }


async def test_json_format_returns_the_envelope(server, run_node, brightdata) -> None:
    envelope = {"status_code": 200, "headers": {"content-type": "text/markdown"}, "body": "# Price: 12"}
    server.route("/request", body=envelope)

    output = await run_node(
        "brightdata.fetch",
        {"credential": "bd", "zone": "z1", "url": "https://shop.example/", "format": "json", "data_format": "markdown"},
        credentials=brightdata,
    )

    assert server.received[0].json() == {
        "zone": "z1",
        "url": "https://shop.example/",
        "format": "json",
        "data_format": "markdown",
    }
    assert output["body"] == envelope


async def test_bright_data_errors_fail_for_good_with_their_message(server, run_node, brightdata) -> None:
    server.route("/request", Reply(status=400, body="", headers={"x-brd-error": "zone 'nope' not found"}))

    with pytest.raises(NodeError, match="HTTP 400: zone 'nope' not found") as failed:
        await run_node(
            "brightdata.fetch",
            {"credential": "bd", "zone": "nope", "url": "https://shop.example/"},
            credentials=brightdata,
        )

    assert not failed.value.retryable


async def test_bad_key_fails_for_good(server, run_node, brightdata) -> None:
    server.route("/request", Reply(status=401, body="Invalid authentication"))

    with pytest.raises(NodeError, match="Invalid authentication") as failed:
        await run_node(
            "brightdata.fetch", {"credential": "bd", "zone": "z", "url": "https://a.example/"}, credentials=brightdata
        )

    assert not failed.value.retryable


async def test_target_page_error_fails_the_step(server, run_node, brightdata) -> None:
    server.route("/request", Reply(status=404, body="<p>gone</p>", headers={"Content-Type": "text/html"}))

    with pytest.raises(NodeError, match="HTTP 404: <p>gone</p>") as failed:
        await run_node(
            "brightdata.fetch", {"credential": "bd", "zone": "z", "url": "https://a.example/x"}, credentials=brightdata
        )

    assert not failed.value.retryable


async def test_binary_page_comes_back_as_base64(server, run_node, brightdata) -> None:
    server.route("/request", Reply(body=b"\x89PNG\r\n\x00", headers={"Content-Type": "image/png"}))

    output = await run_node(
        "brightdata.fetch",
        {"credential": "bd", "zone": "z", "url": "https://a.example/logo.png"},
        credentials=brightdata,
    )

    assert output == {"status": 200, "content_type": "image/png", "body": "iVBORw0KAA==", "body_base64": True}


@pytest.mark.parametrize("status", [429, 502, 504])
async def test_rate_limits_and_outages_are_retryable(server, run_node, brightdata, status) -> None:
    server.route("/request", Reply(status=status, body="busy", headers={"x-brd-error": "Too many requests"}))

    with pytest.raises(NodeError, match="Too many requests") as failed:
        await run_node(
            "brightdata.fetch", {"credential": "bd", "zone": "z", "url": "https://a.example/"}, credentials=brightdata
        )

    assert failed.value.retryable


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://a.example/", "country": "usa"}, "country"),
        ({"url": "https://a.example/", "zone": "a/b"}, "zone"),
    ],
)
def test_config_is_checked(config, field) -> None:
    with pytest.raises(ValidationError, match=field):
        FetchConfig.model_validate({"credential": "bd", "zone": "z", **config})
