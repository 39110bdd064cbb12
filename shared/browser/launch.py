"""Which driver drives the browser, and how Chromium is started: launched here headless, or reached
over CDP at a remote endpoint (Bright Data's Scraping Browser)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied, EgressPolicy, resolve_checked

if TYPE_CHECKING:
    from shared.settings import Settings

DRIVER_MODULES = {"playwright": "playwright.async_api", "patchright": "patchright.async_api"}
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")

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
)
"""Chromium phones home (updates, sync, metrics, safe browsing lists) unless told not to; a
workflow's browser talks to the pages it is sent to and nothing else. QUIC is off because the
egress proxy carries TCP only."""


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


def executable_path(settings: Settings) -> str | None:
    """The Chromium to launch: the setting, else Debian's when present, else the driver's own."""
    if settings.browser_executable_path is not None:
        if not settings.browser_executable_path.is_file():
            raise NodeError(f"browser_executable_path {settings.browser_executable_path} does not exist")
        return str(settings.browser_executable_path)
    return str(DEFAULT_CHROMIUM) if DEFAULT_CHROMIUM.is_file() else None


def use_sandbox(settings: Settings) -> bool:
    """Chromium's sandbox cannot start as root; elsewhere it stays on unless the setting says off."""
    if settings.browser_sandbox is not None:
        return settings.browser_sandbox
    return os.geteuid() != 0


async def launch_chromium(playwright: Any, settings: Settings, proxy_url: str) -> Any:
    """A headless Chromium whose every connection goes through the egress proxy at `proxy_url`.

    Playwright adds `<-loopback>` to the bypass list, so even loopback goes through the proxy."""
    sandbox = use_sandbox(settings)
    return await playwright.chromium.launch(
        executable_path=executable_path(settings),
        headless=True,
        chromium_sandbox=sandbox,
        args=[*CHROMIUM_FLAGS, *(() if sandbox else ("--no-sandbox",))],
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
