"""The egress guard in the browser: pages, sub-requests and redirects reach allowed addresses only,
and `file:`, `data:` and `chrome:` tricks get nowhere. Only 127.0.0.1 is allowed here; the
`denied` server on 127.0.0.2 must never receive a request."""

from __future__ import annotations

import pytest

from shared.engine.errors import NodeError
from tests.nodes.browser.conftest import page
from tests.support.http_server import Reply

pytestmark = pytest.mark.asyncio(loop_scope="module")


def refusal(denied) -> str:
    return "egress to 127.0.0.2 refused: 127.0.0.2 is loopback"


async def test_sub_resources_from_a_refused_address_are_blocked(site, denied, steps) -> None:
    body = (
        f"<img id='pixel' src='{denied.url('/pixel.png')}'>"
        f"<script>fetch('{denied.url('/api')}').catch(() => document.title = 'fetch blocked')</script>"
    )
    site.route("/embeds", page(body, "Embeds"))

    opened = await steps.run("browser.goto", {"url": site.url("/embeds"), "wait_until": "load"})
    await steps.run("browser.evaluate", {"expression": "() => new Promise(r => setTimeout(r, 200))"})
    title = await steps.run("browser.evaluate", {"expression": "document.title"})

    assert opened["status"] == 200
    assert title == {"result": "fetch blocked"}
    assert denied.received == []
    warnings = [log["message"] for log in steps.logs("warning")]
    assert f"blocked {denied.url('/pixel.png')}: {refusal(denied)}" in warnings


async def test_opening_a_refused_address_fails_for_good(denied, steps) -> None:
    with pytest.raises(NodeError) as caught:
        await steps.run("browser.goto", {"url": denied.url("/")})

    assert caught.value.message == f"opening {denied.url('/')}: {refusal(denied)}"
    assert not caught.value.retryable
    assert denied.received == []


async def test_a_redirect_to_a_refused_address_is_stopped_on_the_wire(site, denied, steps) -> None:
    site.route("/jump", Reply(status=302, headers={"Location": denied.url("/")}))

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.goto", {"url": site.url("/jump")})

    assert caught.value.message == f"opening {site.url('/jump')}: {refusal(denied)}"
    assert denied.received == []


async def test_a_redirect_to_a_file_url_fails(site, steps) -> None:
    site.route("/to-file", Reply(status=302, headers={"Location": "file:///etc/passwd"}))

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.goto", {"url": site.url("/to-file")})

    assert caught.value.message.startswith(f"opening {site.url('/to-file')}: ")
    assert "root:" not in caught.value.message


async def test_a_page_cannot_reach_files_or_browser_pages(site, steps) -> None:
    site.route("/tricks", page("<iframe id='f' src='file:///etc/passwd'></iframe>", "Tricks"))
    await steps.run("browser.goto", {"url": site.url("/tricks")})

    fetched = await steps.run(
        "browser.evaluate",
        {"expression": "fetch('file:///etc/passwd').then(r => r.text()).catch(e => 'refused: ' + e.name)"},
    )
    for target in ("file:///etc/passwd", "data:text/html,<h1>escaped</h1>", "chrome://version"):
        await steps.run("browser.evaluate", {"expression": f"() => {{ location.href = {target!r}; }}"})
        await steps.run("browser.evaluate", {"expression": "() => new Promise(r => setTimeout(r, 200))"})
        where = await steps.run("browser.evaluate", {"expression": "location.href"})
        assert where == {"result": site.url("/tricks")}, target
    text = await steps.run("browser.extract", {"selector": "body"})

    assert fetched == {"result": "refused: TypeError"}
    assert "root:" not in text["value"]
