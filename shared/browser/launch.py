"""Which driver drives the browser, and how Chromium is started: launched here headless, or reached
over CDP at a remote endpoint (Bright Data's Scraping Browser)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied, EgressPolicy, resolve_checked

if TYPE_CHECKING:
    from shared.settings import Settings

DRIVER_MODULES = {"playwright": "playwright.async_api", "patchright": "patchright.async_api"}
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_EXECUTABLES = (HEADLESS_SHELL, DEFAULT_CHROMIUM)
"""Debian's `chromium-headless-shell` first: the headless-only build Playwright itself launches for
headless runs, about 200 MB PSS with one page where the full `chromium` takes about 370 MB. The
binary, not the /usr/bin/chromium-headless-shell wrapper, which stays behind as a shell process."""

HEADLESS_SHELL_NAMES = frozenset({"chromium-headless-shell", "chrome-headless-shell", "headless_shell"})
UNSANDBOXED_SHELL_FLAGS = ("--no-zygote", "--in-process-gpu")
"""Without the sandbox (as root, on Fargate) no Chromium process is confined, so a separate zygote
and GPU process isolate nothing: the headless shell runs without them, about 10 MB PSS less. Not
for the full `chromium`: without a zygote to fork from, its renderers share fewer pages and it
takes 40-60 MB more."""

DRIVER_NODE_OPTION = "--max-semi-space-size=1"
"""Playwright's driver is a Node.js process; V8's young generation (16 MB semi-spaces by default) is
most of what it holds beyond its code, and a 1 MB one keeps about 12 MB off it. The driver only
relays messages, so the extra minor collections cost nothing measurable."""

CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--dns-prefetch-disable",
    "--metrics-recording-only",
    "--site-per-process",
    "--renderer-process-limit=1",
)
"""Chromium phones home (updates, sync, metrics, safe browsing lists) unless told not to; a
workflow's browser talks to the pages it is sent to and nothing else. QUIC is off because the
egress proxy carries TCP only.

Pages are untrusted: every site gets its own renderer (site isolation, which the headless shell
does not turn on by itself). The process limit only stops Chromium keeping a spare renderer
warm (10-15 MB at the peak); site isolation overrides it, so a cross-site frame still gets its own."""


def load_driver(name: str) -> ModuleType:
    """`playwright.async_api` or `patchright.async_api`, imported on first use."""
    module = DRIVER_MODULES[name]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        package = name if name == "patchright" else "playwright"
        raise NodeError(
            f"the browser driver {name!r} is not installed: pip install {package} "
            f"(or set FLOWBUILDER_BROWSER_DRIVER=playwright); {exc}",
            retryable=False,
        ) from None


def tune_driver_memory(environ: MutableMapping[str, str] = os.environ) -> None:
    """Add `DRIVER_NODE_OPTION` to this process's NODE_OPTIONS, which the driver inherits when it
    starts (as would any Node.js the process starts; the product starts no other), unless a
    semi-space size is set there already."""
    current = environ.get("NODE_OPTIONS", "")
    if "--max-semi-space-size" not in current:
        environ["NODE_OPTIONS"] = f"{current} {DRIVER_NODE_OPTION}".strip()


def installed_chromium(candidates: Iterable[Path] = DEFAULT_EXECUTABLES) -> Path | None:
    """The first of `candidates` that is installed."""
    return next((path for path in candidates if path.is_file()), None)


def executable_path(settings: Settings) -> str | None:
    """The Chromium to launch: the setting, else Debian's when installed, else the driver's own."""
    if settings.browser_executable_path is not None:
        if not settings.browser_executable_path.is_file():
            raise NodeError(f"browser_executable_path {settings.browser_executable_path} does not exist")
        return str(settings.browser_executable_path)
    found = installed_chromium()
    return str(found) if found is not None else None


def chromium_args(executable: str | None, sandbox: bool) -> list[str]:
    """The command-line flags for `executable` (None: the driver's own Chromium)."""
    if sandbox:
        return list(CHROMIUM_FLAGS)
    is_shell = executable is not None and Path(executable).name in HEADLESS_SHELL_NAMES
    return [*CHROMIUM_FLAGS, "--no-sandbox", *(UNSANDBOXED_SHELL_FLAGS if is_shell else ())]


def use_sandbox(settings: Settings) -> bool:
    """Chromium's sandbox cannot start as root; elsewhere it stays on unless the setting says off."""
    if settings.browser_sandbox is not None:
        return settings.browser_sandbox
    return os.geteuid() != 0


async def launch_chromium(playwright: Any, settings: Settings, proxy_url: str) -> Any:
    """A headless Chromium whose every connection goes through the egress proxy at `proxy_url`.

    Playwright adds `<-loopback>` to the bypass list, so even loopback goes through the proxy."""
    sandbox = use_sandbox(settings)
    executable = executable_path(settings)
    return await playwright.chromium.launch(
        executable_path=executable,
        headless=True,
        chromium_sandbox=sandbox,
        args=chromium_args(executable, sandbox),
        proxy={"server": proxy_url},
        timeout=settings.browser_launch_timeout_s * 1000,
        handle_sigint=False,
        handle_sigterm=False,
        handle_sighup=False,
    )


async def check_endpoint(settings: Settings, endpoint: str) -> None:
    """A remote browser's host must pass the egress guard like any other."""
    split = urlsplit(endpoint)
    if split.scheme not in ("ws", "wss", "http", "https") or not split.hostname:
        raise NodeError("the browser credential's ws_endpoint must be a ws://, wss://, http:// or https:// URL")
    port = split.port or (443 if split.scheme in ("wss", "https") else 80)
    try:
        await resolve_checked(split.hostname, port, EgressPolicy.from_settings(settings))
    except EgressDenied as exc:
        raise NodeError(f"the remote browser endpoint is refused: {exc}") from None
    except OSError as exc:
        message = f"could not resolve the remote browser's host {split.hostname}: {exc}"
        raise NodeError(message, retryable=True) from None


async def connect_remote(playwright: Any, settings: Settings, endpoint: str) -> Any:
    """A remote Chromium over CDP, at an endpoint `check_endpoint` has let through."""
    return await playwright.chromium.connect_over_cdp(endpoint, timeout=settings.browser_launch_timeout_s * 1000)
