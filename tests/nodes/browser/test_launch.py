"""Which Chromium is launched and how: the headless shell first, lighter without the sandbox, and a
driver whose Node.js keeps a small young generation."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from shared.browser.launch import (
    CHROMIUM_FLAGS,
    DRIVER_NODE_OPTION,
    chromium_args,
    executable_path,
    installed_chromium,
    tune_driver_memory,
)
from shared.browser.session import BrowserSession
from shared.engine.errors import NodeError
from shared.settings import Settings
from tests.nodes.browser.conftest import CHROMIUM, Steps, chromium_descendants, page

SHELL = "/usr/lib/chromium/chromium-headless-shell"


def installed(tmp_path: Path, *names: str) -> list[Path]:
    paths = [tmp_path / name for name in ("chromium-headless-shell", "chromium")]
    for path in paths:
        if path.name in names:
            path.write_bytes(b"")
    return paths


def test_the_headless_shell_is_preferred_to_the_full_chromium(tmp_path):
    assert installed_chromium(installed(tmp_path, "chromium-headless-shell", "chromium")).name == (
        "chromium-headless-shell"
    )


def test_the_full_chromium_is_the_fallback(tmp_path):
    assert installed_chromium(installed(tmp_path, "chromium")) == tmp_path / "chromium"


def test_without_debian_chromium_the_driver_picks_its_own(tmp_path):
    assert installed_chromium(installed(tmp_path)) is None


def test_the_setting_overrides_the_default(tmp_path):
    chosen = installed(tmp_path, "chromium")[1]

    assert executable_path(Settings(data_dir=tmp_path, browser_executable_path=chosen)) == str(chosen)


def test_a_missing_configured_chromium_is_an_error(tmp_path):
    settings = Settings(data_dir=tmp_path, browser_executable_path=tmp_path / "nowhere")

    with pytest.raises(NodeError, match="does not exist"):
        executable_path(settings)


def test_an_unsandboxed_headless_shell_drops_its_zygote_and_gpu_process():
    args = chromium_args(SHELL, sandbox=False)

    assert args[: len(CHROMIUM_FLAGS)] == list(CHROMIUM_FLAGS)
    assert {"--no-sandbox", "--no-zygote", "--in-process-gpu"} <= set(args)


def test_a_sandboxed_chromium_keeps_its_process_model():
    assert chromium_args(SHELL, sandbox=True) == list(CHROMIUM_FLAGS)


def test_the_full_chromium_keeps_its_zygote_without_the_sandbox():
    """Without a zygote the full build's renderers share fewer pages and it takes more memory."""
    args = chromium_args("/usr/bin/chromium", sandbox=False)

    assert "--no-sandbox" in args
    assert "--no-zygote" not in args and "--in-process-gpu" not in args


def test_the_driver_gets_a_small_young_generation():
    environ: dict[str, str] = {}

    tune_driver_memory(environ)

    assert environ["NODE_OPTIONS"] == DRIVER_NODE_OPTION


def test_the_operators_node_options_are_kept():
    environ = {"NODE_OPTIONS": "--max-old-space-size=512"}

    tune_driver_memory(environ)
    tune_driver_memory(environ)

    assert environ["NODE_OPTIONS"] == f"--max-old-space-size=512 {DRIVER_NODE_OPTION}"


def test_an_operators_semi_space_size_wins():
    environ = {"NODE_OPTIONS": "--max-semi-space-size=8"}

    tune_driver_memory(environ)

    assert environ["NODE_OPTIONS"] == "--max-semi-space-size=8"


def process_type(pid: int) -> str:
    """`renderer`, `utility`... from Chromium's command line; `browser` for the main process."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return next((arg.split("=", 1)[1] for arg in command.split() if arg.startswith("--type=")), "browser")


@pytest_asyncio.fixture(loop_scope="module")
async def own_browser(module_settings, artifacts, owner) -> AsyncIterator[Steps]:
    """Steps in a browser of their own, so its processes can be told from other tests'."""
    session = BrowserSession(module_settings)
    yield Steps(module_settings, session, artifacts, owner)
    await session.close()


def started_since(before: set[int]) -> list[str]:
    return sorted(process_type(pid) for pid in chromium_descendants() - before)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cross_site_frame_runs_in_a_renderer_of_its_own(site, own_browser):
    frame_url = site.url("/framed").replace("127.0.0.1", "localhost")
    site.route("/framed", page("<p id='inside'>framed</p>", "Framed"))
    site.route("/host", page(f"<h1>Host</h1><iframe src='{frame_url}'></iframe>", "Host"))
    before = chromium_descendants()

    await own_browser.run("browser.goto", {"url": site.url("/host"), "wait_until": "load"})

    assert "/framed" in [received.path for received in site.received]
    assert started_since(before).count("renderer") == 2


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.skipif(
    os.geteuid() != 0 or CHROMIUM is None or CHROMIUM.name != "chromium-headless-shell",
    reason="the headless shell runs without the sandbox only as root",
)
async def test_the_unsandboxed_headless_shell_runs_a_page_in_three_processes(site, own_browser):
    site.route("/orders", page("<h1>Orders</h1>", "Orders"))
    before = chromium_descendants()

    await own_browser.run("browser.goto", {"url": site.url("/orders")})
    heading = await own_browser.run("browser.extract", {"selector": "h1"})
    shot = await own_browser.run("browser.screenshot", {})

    assert heading == {"value": "Orders"}
    assert shot["size"] > 0
    assert started_since(before) == ["browser", "renderer", "utility"]
