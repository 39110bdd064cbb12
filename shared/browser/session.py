"""One execution's browser: opened by its first browser step, shared by the others, closed by the
runner when the execution ends, whether it succeeded, failed or was cancelled.

Steps take turns: `page()` holds a lock for the step's duration, so concurrent branches or
`for_each` items drive the one page one at a time instead of interleaving their actions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from shared.browser.egress_proxy import EgressProxy
from shared.browser.launch import check_endpoint, connect_remote, launch_chromium, load_driver, tune_driver_memory
from shared.browser.route_guard import RouteGuard
from shared.engine.errors import NodeError
from shared.nodes.egress import EgressPolicy

if TYPE_CHECKING:
    from shared.engine.context import NodeContext
    from shared.settings import Settings


LOCAL = "local Chromium"
CLOSE_TIMEOUT_S = 10.0


class BrowserSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = EgressPolicy.from_settings(settings)
        self.guard = RouteGuard(self.policy)
        self.driver: ModuleType | None = None
        self.source: str | None = None
        """LOCAL, or the name of the `browser_cdp` credential the browser was reached with."""
        self.proxy: EgressProxy | None = None
        self._turn = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._page: Any = None

    @property
    def is_open(self) -> bool:
        return self._context is not None

    @contextlib.asynccontextmanager
    async def page(self, ctx: NodeContext, credential: str | None = None) -> AsyncIterator[Any]:
        """The execution's page, for the duration of one step. `credential` names a `browser_cdp`
        credential; only the step that opens the browser can choose it."""
        async with self._turn:
            wanted = credential or LOCAL
            if self._context is None:
                await self._open(ctx, credential)
            elif credential is not None and wanted != self.source:
                raise NodeError(
                    f"this execution's browser is already open ({self._described()}); the browser steps of one "
                    f"execution share it, so only the first one can choose credential {credential!r}"
                )
            if self._page is None or self._page.is_closed():
                self._page = await self._context.new_page()
            yield self._page

    def _described(self) -> str:
        return LOCAL if self.source == LOCAL else f"remote, credential {self.source!r}"

    async def _open(self, ctx: NodeContext, credential: str | None) -> None:
        settings = self.settings
        self.driver = load_driver(settings.browser_driver)
        endpoint = await _endpoint(ctx, credential) if credential is not None else None
        if endpoint is not None:
            await check_endpoint(settings, endpoint)
        try:
            tune_driver_memory()
            self._playwright = await self.driver.async_playwright().start()
            if endpoint is None:
                self.proxy = await EgressProxy(
                    self.policy, connect_timeout_s=settings.browser_timeout_s, on_refusal=self.guard.refuse
                ).start()
                self._browser = await launch_chromium(self._playwright, settings, self.proxy.url)
                self._context = await self._new_context()
            else:
                self._browser = await connect_remote(self._playwright, settings, endpoint)
                contexts = self._browser.contexts
                self._context = contexts[0] if contexts else await self._new_context()
            await self._context.route("**/*", self.guard.handle)
            self._context.set_default_timeout(settings.browser_timeout_s * 1000)
            self.source = credential or LOCAL
            ctx.log.info(f"browser opened ({self._described()}, {settings.browser_driver})")
        except BaseException as exc:
            await self.close()
            if isinstance(exc, self.driver.Error):
                raise NodeError(f"the browser could not be started: {first_line(exc)}", retryable=True) from None
            raise

    async def _new_context(self) -> Any:
        settings = self.settings
        return await self._browser.new_context(
            viewport={"width": settings.browser_viewport_width, "height": settings.browser_viewport_height},
            accept_downloads=False,
            service_workers="block",
        )

    async def close(self) -> None:
        """Close the context, the browser, the driver and the proxy; never raises, and a browser that
        no longer answers holds the end of the execution up for `CLOSE_TIMEOUT_S` at most per part."""
        for closing in (self._context, self._browser):
            if closing is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT_S):
                        await closing.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self._playwright.stop()
        if self.proxy is not None:
            await self.proxy.close()
        self._page = self._context = self._browser = self._playwright = self.proxy = self.source = None


async def _endpoint(ctx: NodeContext, name: str) -> str:
    values = await ctx.credential(name)
    if values.get("type", "browser_cdp") != "browser_cdp" or not values.get("ws_endpoint"):
        raise NodeError(f"credential {name!r} must be of type browser_cdp, with a ws_endpoint")
    return str(values["ws_endpoint"])


def first_line(exc: BaseException) -> str:
    """Playwright errors carry a call log after the first line; users need the first."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
