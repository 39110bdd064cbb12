"""`http.request` against a real local server: what it sends, what it returns, how it fails."""

from __future__ import annotations

import base64
import socket

import pytest
from pydantic import ValidationError

from shared.engine.errors import NodeError
from shared.nodes.http import HttpRequestConfig
from shared.settings import Settings
from tests.support.http_server import Reply

# What the server receives


async def test_sends_method_path_query_and_headers(server, run_node) -> None:
    server.route("/items", body={"ok": True})

    await run_node(
        "http.request",
        {
            "method": "delete",
            "url": server.url("/items?a=1"),
            "query": {"b": 2, "tag": ["x", "y"], "flag": True},
            "headers": {"X-Trace": "abc", "X-Count": 3},
        },
    )

    [received] = server.received
    assert received.method == "DELETE"
    assert received.path == "/items"
    assert received.query == {"a": ["1"], "b": ["2"], "tag": ["x", "y"], "flag": ["true"]}
    assert received.headers["x-trace"] == "abc"
    assert received.headers["x-count"] == "3"
    assert "idempotency-key" not in received.headers


async def test_sends_json_body(server, run_node) -> None:
    server.route("/orders", status=201, body={"id": 7})

    await run_node(
        "http.request", {"method": "POST", "url": server.url("/orders"), "json": {"sku": "A-1", "qty": [1, 2]}}
    )

    [received] = server.received
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {"sku": "A-1", "qty": [1, 2]}


async def test_sends_text_body_as_plain_text_unless_told(server, run_node) -> None:
    server.route("/notes", body="ok")

    await run_node("http.request", {"method": "PUT", "url": server.url("/notes"), "body": "héllo"})
    await run_node(
        "http.request",
        {"method": "PATCH", "url": server.url("/notes"), "body": "<a/>", "headers": {"content-type": "text/xml"}},
    )

    first, second = server.received
    assert (first.method, first.body, first.headers["content-type"]) == (
        "PUT",
        "héllo".encode(),
        "text/plain; charset=utf-8",
    )
    assert (second.method, second.body, second.headers["content-type"]) == ("PATCH", b"<a/>", "text/xml")


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("credential", "expect_header", "expect_query"),
    [
        ({"type": "bearer", "token": "t0k"}, ("authorization", "Bearer t0k"), None),
        ({"type": "basic", "username": "ann", "password": "pä ss"}, ("authorization", basic("ann", "pä ss")), None),
        ({"type": "header", "name": "X-Api-Key", "value": "k3y"}, ("x-api-key", "k3y"), None),
        ({"type": "query", "name": "api_key", "value": "k3y"}, None, ("api_key", ["k3y"])),
    ],
)
async def test_authenticates_with_credential(server, run_node, credential, expect_header, expect_query) -> None:
    server.route("/me", body={})

    output = await run_node(
        "http.request",
        {"url": server.url("/me"), "credential": "api", "headers": {"Authorization": "from config"}},
        credentials={"api": credential},
    )

    [received] = server.received
    if expect_header:
        name, value = expect_header
        assert received.headers[name] == value
    if expect_query:
        name, values = expect_query
        assert received.query[name] == values
        assert name not in output["url"]


async def test_credential_of_unknown_type_fails_for_good(server, run_node) -> None:
    with pytest.raises(NodeError, match="has type 'oauth'") as failed:
        await run_node(
            "http.request", {"url": server.url("/"), "credential": "c"}, credentials={"c": {"type": "oauth"}}
        )

    assert not failed.value.retryable
    assert server.received == []


async def test_missing_credential_fails_for_good(server, run_node) -> None:
    with pytest.raises(NodeError, match="nope") as failed:
        await run_node("http.request", {"url": server.url("/"), "credential": "nope"})

    assert not failed.value.retryable


async def test_credential_without_its_secret_fails_for_good(server, run_node) -> None:
    with pytest.raises(NodeError, match="has no 'token'") as failed:
        await run_node(
            "http.request", {"url": server.url("/"), "credential": "c"}, credentials={"c": {"type": "bearer"}}
        )

    assert not failed.value.retryable


async def test_sends_idempotency_key_when_asked(server, run_node, make_context) -> None:
    server.route("/pay", body={})
    ctx = make_context("http.request")

    await run_node("http.request", {"method": "POST", "url": server.url("/pay"), "send_idempotency_key": True}, ctx=ctx)
    await run_node("http.request", {"method": "POST", "url": server.url("/pay"), "send_idempotency_key": True}, ctx=ctx)

    keys = [r.headers["idempotency-key"] for r in server.received]
    assert keys == [ctx.idempotency_key, ctx.idempotency_key]


# Config validation


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"url": "http://x.example", "json": {}, "body": "text"}, "not both"),
        ({"url": "ftp://x.example/file"}, "http:// or https://"),
        ({"url": "/relative"}, "http:// or https://"),
        ({"url": "http://x.example", "method": "TRACE"}, "method"),
        ({"url": "http://x.example", "follow": True}, "follow"),
        ({"url": "http://x.example", "headers": {"X-Bad": "a\r\nInjected: 1"}}, "one line"),
        ({"url": "http://x.example", "timeout_s": 0}, "timeout_s"),
    ],
)
def test_config_rejects(config: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        HttpRequestConfig.model_validate(config)


def test_json_null_counts_as_a_body() -> None:
    with pytest.raises(ValidationError, match="not both"):
        HttpRequestConfig.model_validate({"url": "http://x.example", "json": None, "body": "x"})


# What the node returns


async def test_returns_parsed_json_with_lower_case_headers(server, run_node) -> None:
    server.route("/data", body={"items": [1, 2]}, headers={"X-Request-Id": "r-1"})

    output = await run_node("http.request", {"url": server.url("/data")})

    assert output["status"] == 200
    assert output["body"] == {"items": [1, 2]}
    assert output["body_base64"] is False
    assert output["headers"]["x-request-id"] == "r-1"
    assert output["headers"]["content-type"] == "application/json"
    assert output["url"] == server.url("/data")


async def test_parses_structured_json_suffix(server, run_node) -> None:
    server.route("/problem", body=b'{"title": "nope"}', headers={"Content-Type": "application/problem+json"})

    output = await run_node("http.request", {"url": server.url("/problem")})

    assert output["body"] == {"title": "nope"}


async def test_invalid_json_comes_back_as_text(server, run_node) -> None:
    server.route("/broken", body=b"{not json", headers={"Content-Type": "application/json"})

    output = await run_node("http.request", {"url": server.url("/broken")})

    assert output["body"] == "{not json"


async def test_decodes_text_with_declared_charset(server, run_node) -> None:
    server.route("/latin", body="café".encode("latin-1"), headers={"Content-Type": "text/plain; charset=iso-8859-1"})

    output = await run_node("http.request", {"url": server.url("/latin")})

    assert output["body"] == "café"
    assert output["body_base64"] is False


async def test_binary_body_comes_back_as_base64(server, run_node) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"
    server.route("/logo", body=png, headers={"Content-Type": "image/png"})
    server.route("/blob", body=b"\xff\xfe\x00\x01", headers={"Content-Type": "text/plain"})

    logo = await run_node("http.request", {"url": server.url("/logo")})
    blob = await run_node("http.request", {"url": server.url("/blob")})

    assert (logo["body"], logo["body_base64"]) == (base64.b64encode(png).decode(), True)
    assert blob["body_base64"] is True


async def test_head_returns_no_body(server, run_node) -> None:
    server.route("/big", body=b"x" * 5000, headers={"Content-Type": "text/plain"})

    output = await run_node(
        "http.request",
        {"method": "HEAD", "url": server.url("/big")},
        settings=Settings(http_max_response_bytes=100, egress_allow_private=True),
    )

    assert (output["status"], output["body"]) == (200, "")
    assert output["headers"]["content-length"] == "5000"


async def test_follows_redirects_and_reports_final_url(server, run_node) -> None:
    server.route("/old", status=307, headers={"Location": "/middle"})
    server.route("/middle", status=303, headers={"Location": server.url("/new?page=2")})
    server.route("/new", body="moved")

    output = await run_node("http.request", {"method": "POST", "url": server.url("/old"), "json": {"a": 1}})

    assert output["url"] == server.url("/new?page=2")
    assert output["body"] == "moved"
    assert [(r.method, r.path) for r in server.received] == [("POST", "/old"), ("POST", "/middle"), ("GET", "/new")]


async def test_too_many_redirects_fail_for_good(server, run_node) -> None:
    server.route("/loop", status=302, headers={"Location": "/loop"})

    with pytest.raises(NodeError, match="more than 2 redirects") as failed:
        await run_node(
            "http.request",
            {"url": server.url("/loop")},
            settings=Settings(http_max_redirects=2, egress_allow_private=True),
        )

    assert not failed.value.retryable
    assert len(server.received) == 3


async def test_credential_header_is_not_sent_to_another_origin(start_server, run_node) -> None:
    first, other = start_server("127.0.0.1"), start_server("127.0.0.2")
    first.route("/start", status=302, headers={"Location": "/same"})
    first.route("/same", status=302, headers={"Location": other.url("/elsewhere")})
    other.route("/elsewhere", body="hi")

    await run_node(
        "http.request",
        {"url": first.url("/start"), "credential": "key"},
        credentials={"key": {"type": "header", "name": "X-Api-Key", "value": "s3cret"}},
    )

    assert [r.headers.get("x-api-key") for r in first.received] == ["s3cret", "s3cret"]
    assert "x-api-key" not in other.received[0].headers


# Size cap


def capped(limit: int = 1024) -> Settings:
    return Settings(http_max_response_bytes=limit, egress_allow_private=True)


async def test_rejects_response_declared_too_large(server, run_node) -> None:
    server.route("/huge", body=b"tiny", declared_length=50_000_000)

    with pytest.raises(NodeError, match="larger than the 1024-byte limit") as failed:
        await run_node("http.request", {"url": server.url("/huge")}, settings=capped())

    assert not failed.value.retryable


async def test_aborts_streamed_response_past_the_cap(server, run_node) -> None:
    server.route("/stream", chunks=[b"x" * 600, b"y" * 600, b"z" * 600], headers={"Content-Type": "text/plain"})

    with pytest.raises(NodeError, match="larger than the 1024-byte limit"):
        await run_node("http.request", {"url": server.url("/stream")}, settings=capped())


async def test_response_at_the_cap_is_read_whole(server, run_node) -> None:
    server.route("/exact", chunks=[b"x" * 512, b"y" * 512], headers={"Content-Type": "text/plain"})

    output = await run_node("http.request", {"url": server.url("/exact")}, settings=capped())

    assert len(output["body"]) == 1024


# Failures and whether a retry could help


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_client_errors_fail_for_good_with_remote_message(server, run_node, status: int) -> None:
    server.route("/x", status=status, body={"error": "widget  was\nrejected"})

    with pytest.raises(NodeError) as failed:
        await run_node("http.request", {"url": server.url("/x?token=hidden")})

    assert not failed.value.retryable
    assert f"HTTP {status}" in failed.value.message
    assert f" from GET {server.url('/x')}:" in failed.value.message
    assert '{"error": "widget was\\nrejected"}' in failed.value.message
    assert "hidden" not in failed.value.message


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_transient_statuses_are_retryable(server, run_node, status: int) -> None:
    server.route("/x", status=status, body="busy", headers={"Retry-After": "7"})

    with pytest.raises(NodeError, match=r"Retry-After: 7\): busy") as failed:
        await run_node("http.request", {"url": server.url("/x")})

    assert failed.value.retryable


async def test_long_remote_message_is_cut_short(server, run_node) -> None:
    server.route("/x", status=400, body="e" * 50_000)

    with pytest.raises(NodeError) as failed:
        await run_node("http.request", {"url": server.url("/x")})

    assert len(failed.value.message) < 500


async def test_error_status_is_returned_when_not_raising(server, run_node) -> None:
    server.route("/x", status=503, body={"down": True})

    output = await run_node("http.request", {"url": server.url("/x"), "raise_for_status": False})

    assert (output["status"], output["body"]) == (503, {"down": True})


async def test_connection_refused_is_retryable(run_node) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(NodeError, match="ConnectError") as failed:
        await run_node("http.request", {"url": f"http://127.0.0.1:{closed_port}/"})

    assert failed.value.retryable


async def test_timeout_is_retryable(server, run_node) -> None:
    server.route("/slow", Reply(body="late", delay_s=1.0))

    with pytest.raises(NodeError, match=r"timed out after 0\.2s") as failed:
        await run_node("http.request", {"url": server.url("/slow"), "timeout_s": 0.2})

    assert failed.value.retryable


async def test_timeout_is_capped_by_settings(server, run_node) -> None:
    server.route("/slow", Reply(body="late", delay_s=1.0))

    with pytest.raises(NodeError, match=r"timed out after 0\.2s"):
        await run_node(
            "http.request",
            {"url": server.url("/slow"), "timeout_s": 60},
            settings=Settings(http_timeout_s=0.2, egress_allow_private=True),
        )


async def test_refused_egress_fails_for_good(server, run_node) -> None:
    with pytest.raises(NodeError, match=r"127\.0\.0\.1 is loopback") as failed:
        await run_node("http.request", {"url": server.url("/")}, settings=Settings())

    assert not failed.value.retryable
    assert server.received == []


async def test_logs_the_call_without_query_string(server, run_node, make_context) -> None:
    server.route("/x", body={})

    await run_node("http.request", {"url": server.url("/x?key=secret")})

    assert make_context.messages() == [f"GET {server.url('/x')} -> 200"]
