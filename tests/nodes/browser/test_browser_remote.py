"""A remote browser over CDP from a `browser_cdp` credential (as Bright Data's Scraping Browser is
reached), played here by a second Chromium listening for DevTools on 127.0.0.1; and the driver choice."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from shared.browser.session import BrowserSession
from shared.engine.errors import NodeError
from tests.nodes.browser.conftest import CHROMIUM, Steps, browser_settings, page

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def remote_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chromium started by hand with a DevTools endpoint; yields its ws:// URL."""
    profile = tmp_path_factory.mktemp("remote-profile")
    process = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--no-first-run", "--disable-background-networking", "about:blank"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    endpoint = None
    for line in process.stderr:
        if match := re.search(r"DevTools listening on (ws://\S+)", line):
            endpoint = match.group(1)
            break
    assert endpoint, "the remote Chromium did not announce its DevTools endpoint"
    yield endpoint
    process.terminate()
    process.wait(10)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def remote_session(tmp_path_factory) -> AsyncIterator[BrowserSession]:
    session = BrowserSession(browser_settings(tmp_path_factory.mktemp("remote-data")))
    yield session
    await session.close()


@pytest.fixture
def remote_steps(remote_session, remote_chromium, owner) -> Steps:
    steps = Steps(remote_session.settings, remote_session, None, owner)
    steps.credentials = {
        "scraping-browser": {"type": "browser_cdp", "ws_endpoint": remote_chromium},
        "other-browser": {"type": "browser_cdp", "ws_endpoint": remote_chromium},
    }
    return steps


async def test_steps_drive_the_remote_browser_named_by_the_credential(site, denied, remote_steps) -> None:
    site.route("/remote", page(f"<h1>Remote</h1><img src='{denied.url('/pixel.png')}'>", "Remote"))

    opened = await remote_steps.run("browser.goto", {"url": site.url("/remote"), "credential": "scraping-browser"})
    heading = await remote_steps.run("browser.extract", {"selector": "h1"})

    assert opened == {"url": site.url("/remote"), "status": 200, "title": "Remote"}
    assert heading == {"value": "Remote"}
    assert "browser opened (remote, credential 'scraping-browser', playwright)" in [
        log["message"] for log in remote_steps.logs()
    ]
    assert denied.received == []  # the route guard applies to remote browsers too


async def test_only_the_first_browser_step_chooses_the_browser(site, remote_steps) -> None:
    with pytest.raises(NodeError) as caught:
        await remote_steps.run("browser.goto", {"url": site.url("/remote"), "credential": "other-browser"})

    assert caught.value.message == (
        "this execution's browser is already open (remote, credential 'scraping-browser'); the browser steps of "
        "one execution share it, so only the first one can choose credential 'other-browser'"
    )


async def test_a_refused_endpoint_is_never_contacted(site, owner, tmp_path) -> None:
    session = BrowserSession(browser_settings(tmp_path))
    steps = Steps(session.settings, session, None, owner)
    steps.credentials = {"internal": {"type": "browser_cdp", "ws_endpoint": "ws://127.0.0.2:9222/devtools/browser"}}
    try:
        with pytest.raises(NodeError) as caught:
            await steps.run("browser.goto", {"url": site.url("/remote"), "credential": "internal"})
    finally:
        await session.close()

    assert caught.value.message == (
        "the remote browser endpoint is refused: egress to 127.0.0.2 refused: 127.0.0.2 is loopback"
    )
    assert not session.is_open


async def test_a_credential_of_another_type_is_refused(site, owner, tmp_path) -> None:
    session = BrowserSession(browser_settings(tmp_path))
    steps = Steps(session.settings, session, None, owner)
    steps.credentials = {"token": {"type": "bearer", "token": "t0k3n"}}

    with pytest.raises(NodeError, match="credential 'token' must be of type browser_cdp, with a ws_endpoint"):
        await steps.run("browser.goto", {"url": site.url("/remote"), "credential": "token"})
    await session.close()


@pytest.mark.skipif(importlib.util.find_spec("patchright") is not None, reason="patchright is installed here")
async def test_patchright_as_driver_says_how_to_install_it_when_missing(site, owner, tmp_path) -> None:
    session = BrowserSession(browser_settings(tmp_path, browser_driver="patchright"))
    steps = Steps(session.settings, session, None, owner)

    with pytest.raises(NodeError) as caught:
        await steps.run("browser.goto", {"url": site.url("/remote")})

    assert caught.value.message.startswith(
        "the browser driver 'patchright' is not installed: pip install patchright "
        "(or set FLOWBUILDER_BROWSER_DRIVER=playwright)"
    )
    assert not caught.value.retryable
