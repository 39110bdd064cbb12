"""The browser.* steps in a real headless Chromium against pages served on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from shared.engine.errors import NodeError
from tests.nodes.browser.conftest import page
from tests.support.http_server import Received, Reply

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORM = """
<form method="post" action="/submit">
  <input id="name" name="name"> <input id="email" name="email" type="email">
  <button type="submit">Send</button>
</form>"""


def greeting(received: Received) -> Reply:
    fields = dict(pair.split("=", 1) for pair in received.body.decode().split("&"))
    return page(f"<p id='greeting'>Hello {fields['name']} &lt;{fields['email'].replace('%40', '@')}&gt;</p>", "Done")


# Forms and navigation


async def test_a_form_is_filled_submitted_and_its_result_extracted(site, steps) -> None:
    site.route("/form", page(FORM, "Sign up"))
    site.route("/submit", greeting)

    opened = await steps.run("browser.goto", {"url": site.url("/form")})
    await steps.run("browser.fill", {"selector": "#name", "value": "Ada"})
    await steps.run("browser.fill", {"selector": "input[type=email]", "value": "ada@example.com"})
    clicked = await steps.run("browser.click", {"selector": "text=Send", "wait_until": "load"})
    result = await steps.run("browser.extract", {"selector": "#greeting"})

    assert opened == {"url": site.url("/form"), "status": 200, "title": "Sign up"}
    assert clicked == {"url": site.url("/submit"), "title": "Done"}
    assert result == {"value": "Hello Ada <ada@example.com>"}
    submitted = [r for r in site.received if r.path == "/submit"][-1]
    assert submitted.method == "POST"
    assert submitted.headers["content-type"] == "application/x-www-form-urlencoded"
    assert submitted.body == b"name=Ada&email=ada%40example.com"


async def test_fill_can_press_enter_to_submit(site, steps) -> None:
    site.route("/form", page(FORM, "Sign up"))
    site.route("/submit", greeting)
    await steps.run("browser.goto", {"url": site.url("/form")})
    await steps.run("browser.fill", {"selector": "#email", "value": "bo@example.com"})

    await steps.run("browser.fill", {"selector": "#name", "value": "Bo", "press_enter": True})
    result = await steps.run("browser.wait_for", {"selector": "#greeting"})

    assert result == {"selector": "#greeting", "state": "visible", "url": site.url("/submit")}
    assert (await steps.run("browser.extract", {"selector": "#greeting"}))["value"] == "Hello Bo <bo@example.com>"


async def test_wait_for_sees_content_the_page_adds_after_loading(site, steps) -> None:
    script = "<script>setTimeout(() => { document.body.innerHTML += '<p id=late>arrived</p>'; }, 400)</script>"
    site.route("/delayed", page("<p id=early>here</p>" + script))
    await steps.run("browser.goto", {"url": site.url("/delayed")})

    waited = await steps.run("browser.wait_for", {"selector": "#late", "timeout_s": 5})

    assert waited["state"] == "visible"
    assert await steps.run("browser.extract", {"selector": "#late"}) == {"value": "arrived"}


async def test_goto_follows_redirects_and_a_link_click_navigates(site, steps) -> None:
    site.route("/old", Reply(status=302, headers={"Location": "/new"}))
    site.route("/new", page("<a id='next' href='/third?x=1'>next</a>", "New"))
    site.route("/third", page("<h1>Third</h1>", "Third"))

    opened = await steps.run("browser.goto", {"url": site.url("/old")})
    clicked = await steps.run("browser.click", {"selector": "#next", "wait_until": "load"})

    assert opened == {"url": site.url("/new"), "status": 200, "title": "New"}
    assert clicked == {"url": site.url("/third?x=1"), "title": "Third"}


async def test_an_error_status_fails_goto_unless_told_otherwise(site, steps) -> None:
    site.route("/gone", Reply(status=404, body="missing"))
    site.route("/down", Reply(status=503, body="later"))

    with pytest.raises(NodeError) as not_found:
        await steps.run("browser.goto", {"url": site.url("/gone")})
    with pytest.raises(NodeError) as unavailable:
        await steps.run("browser.goto", {"url": site.url("/down")})
    tolerated = await steps.run("browser.goto", {"url": site.url("/gone"), "raise_for_status": False})

    assert not_found.value.message == f"opening {site.url('/gone')}: the page answered HTTP 404"
    assert not not_found.value.retryable
    assert unavailable.value.retryable
    assert tolerated["status"] == 404


async def test_an_unreachable_site_fails_retryably_saying_so(steps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.goto", {"url": f"http://127.0.0.1:{port}/"})

    assert caught.value.message.startswith(f"opening http://127.0.0.1:{port}/: could not connect to 127.0.0.1:{port}: ")
    assert caught.value.retryable


# Extract


TABLE = """
<h1 class="title">  Price list  </h1>
<pre id="code">  indented  </pre>
<a id="docs" href="/docs/intro">Docs</a>
<input id="qty" value="1">
<table>
  <tr class="item" data-sku="A-1">
    <td class="name">Apple</td><td class="price">1.20</td><td><a href="/a">view</a></td>
  </tr>
  <tr class="item" data-sku="B-2"><td class="name">Banana</td><td class="price">0.50</td><td></td></tr>
</table>"""


async def test_extract_reads_text_attributes_lists_and_records(site, steps) -> None:
    site.route("/prices", page(TABLE))
    await steps.run("browser.goto", {"url": site.url("/prices")})
    await steps.run("browser.fill", {"selector": "#qty", "value": 3})

    text = await steps.run("browser.extract", {"selector": "h1.title"})
    raw = await steps.run("browser.extract", {"selector": "#code", "trim": False})
    link = await steps.run("browser.extract", {"selector": "#docs", "attribute": "href"})
    typed = await steps.run("browser.extract", {"selector": "#qty", "attribute": "value"})
    names = await steps.run("browser.extract", {"selector": "tr.item td.name", "all": True})
    none = await steps.run("browser.extract", {"selector": ".nothing", "all": True})
    records = await steps.run(
        "browser.extract",
        {
            "selector": "tr.item",
            "fields": {
                "name": "td.name",
                "price": {"selector": "td.price"},
                "sku": {"attribute": "data-sku"},
                "link": {"selector": "a", "attribute": "href"},
            },
        },
    )

    assert text == {"value": "Price list"}
    assert raw == {"value": "  indented  "}
    assert link == {"value": site.url("/docs/intro")}
    assert typed == {"value": "3"}
    assert names == {"values": ["Apple", "Banana"], "count": 2}
    assert none == {"values": [], "count": 0}
    assert records == {
        "records": [
            {"name": "Apple", "price": "1.20", "sku": "A-1", "link": site.url("/a")},
            {"name": "Banana", "price": "0.50", "sku": "B-2", "link": None},
        ],
        "count": 2,
    }


async def test_extract_caps_the_number_of_elements(site, steps) -> None:
    site.route("/many", page("".join(f"<li>{i}</li>" for i in range(30))))
    await steps.run("browser.goto", {"url": site.url("/many")})
    steps.settings = steps.settings.model_copy(update={"browser_max_extract_items": 5})

    listed = await steps.run("browser.extract", {"selector": "li", "all": True})

    assert listed == {"values": ["0", "1", "2", "3", "4"], "count": 5}
    assert [log["message"] for log in steps.logs("warning")] == ["30 elements matched; the first 5 were read"]


# Failures


async def test_a_missing_selector_fails_naming_it_and_leaves_a_screenshot(site, steps, artifacts) -> None:
    site.route("/plain", page("<p>nothing to click</p>"))
    await steps.run("browser.goto", {"url": site.url("/plain")})

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.click", {"selector": "#missing-button", "timeout_s": 0.5})

    message = caught.value.message
    prefix = f"clicking '#missing-button': timed out after 0.5 s (on {site.url('/plain')}); screenshot: artifact "
    assert message.startswith(prefix)
    assert caught.value.retryable
    [logged] = steps.logs("error")
    artifact_id = message.removeprefix(prefix)
    assert logged["artifact_id"] == artifact_id
    assert logged["url"] == f"/api/artifacts/{artifact_id}"
    artifact = artifact_row(artifacts, artifact_id)
    assert (artifact.kind, artifact.content_type, artifact.node_id) == ("failure-screenshot", "image/png", "step")
    with artifacts.open(artifact) as stored:
        assert stored.read(8) == b"\x89PNG\r\n\x1a\n"


async def test_a_timeout_above_the_setting_is_capped(site, steps) -> None:
    site.route("/plain", page("<p>plain</p>"))
    await steps.run("browser.goto", {"url": site.url("/plain")})
    steps.settings = steps.settings.model_copy(update={"browser_timeout_s": 0.3})
    steps.artifacts = None

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.wait_for", {"selector": "#never", "timeout_s": 600})

    assert caught.value.message == (
        f"waiting for '#never' to be visible: timed out after 0.3 s (on {site.url('/plain')})"
    )


async def test_an_invalid_selector_fails_for_good(site, steps) -> None:
    site.route("/prices", page(TABLE))
    await steps.run("browser.goto", {"url": site.url("/prices")})

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.extract", {"selector": "tr.item", "fields": {"x": "td[[["}})

    assert caught.value.message.startswith("extracting 'tr.item': ")
    assert "td[[[" in caught.value.message
    assert not caught.value.retryable


# Screenshot and evaluate


async def test_a_screenshot_is_stored_and_returned_as_a_reference(site, steps, artifacts, owner) -> None:
    site.route("/shot", page("<div id='hero' style='height:200px;width:300px;background:#c00'></div>", "Shot"))
    await steps.run("browser.goto", {"url": site.url("/shot")})

    viewport = await steps.run("browser.screenshot", {}, node_id="snap")
    element = await steps.run("browser.screenshot", {"selector": "#hero"}, node_id="snap")

    for shot in (viewport, element):
        artifact = artifact_row(artifacts, shot["artifact_id"])
        assert shot == {
            "artifact_id": str(artifact.id),
            "url": f"/api/artifacts/{artifact.id}",
            "content_type": "image/png",
            "size": artifact.size,
            "page_url": site.url("/shot"),
        }
        assert (artifact.owner_id, artifact.execution_id, artifact.node_id) == (
            owner.user_id,
            owner.execution_id,
            "snap",
        )
        with artifacts.open(artifact) as stored:
            data = stored.read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) == artifact.size
    assert png_size(artifacts, viewport["artifact_id"]) == (1280, 720)
    assert png_size(artifacts, element["artifact_id"]) == (300, 200)


async def test_a_screenshot_needs_an_artifact_store(steps) -> None:
    steps.artifacts = None

    with pytest.raises(NodeError, match="needs an artifact store"):
        await steps.run("browser.screenshot", {})


async def test_evaluate_returns_json_and_passes_data_as_arg(site, steps) -> None:
    site.route("/plain", page("<p>plain</p>", "Evaluated"))
    await steps.run("browser.goto", {"url": site.url("/plain")})

    title = await steps.run("browser.evaluate", {"expression": "document.title"})
    doubled = await steps.run("browser.evaluate", {"expression": "(arg) => arg.n * 2", "arg": {"n": 21}})
    awaited = await steps.run("browser.evaluate", {"expression": "new Promise(r => setTimeout(() => r([1, 'a']), 50))"})

    assert (title, doubled, awaited) == ({"result": "Evaluated"}, {"result": 42}, {"result": [1, "a"]})


async def test_evaluate_reports_the_page_error(site, steps) -> None:
    site.route("/plain", page("<p>plain</p>"))
    await steps.run("browser.goto", {"url": site.url("/plain")})

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.evaluate", {"expression": "() => { throw new Error('kaput') }"})

    assert caught.value.message.startswith("evaluating the expression: ")
    assert "kaput" in caught.value.message
    assert not caught.value.retryable


async def test_browser_steps_need_the_runners_browser(steps) -> None:
    steps.browser = None  # type: ignore[assignment]

    with pytest.raises(NodeError, match="browser steps run in the browser lane"):
        await steps.run("browser.goto", {"url": "https://example.com/"})


def artifact_row(store, artifact_id: str):
    import uuid

    from sqlmodel import Session

    from shared.db.models import Artifact

    with Session(store.engine) as session:
        artifact = session.get(Artifact, uuid.UUID(artifact_id))
        assert artifact is not None
        return artifact


def png_size(store, artifact_id: str) -> tuple[int, int]:
    with store.open(artifact_row(store, artifact_id)) as stored:
        header = stored.read(24)
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
