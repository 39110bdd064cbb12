"""The page as one browser step uses it: driver errors become `NodeError`s that say what the step
was doing, a failure leaves a screenshot of the page behind, and requests the egress guard refused
during the step are logged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from shared.browser.session import first_line
from shared.engine.errors import NodeError

if TYPE_CHECKING:
    from shared.artifacts import ArtifactStore
    from shared.browser.session import BrowserSession
    from shared.engine.context import NodeContext

FAILURE_SCREENSHOT_TIMEOUT_MS = 5000
BLOCKED_MARKERS = ("net::ERR_", "chrome-error://")
"""A navigation that failed this way while the guard refused something failed because of it (a
refused redirect ends on Chromium's error page)."""
RETRYABLE_MARKERS = ("net::ERR_", "Target page, context or browser has been closed", "crashed")


def shown(url: str) -> str:
    """A URL for messages and logs: no user info or query string, which may hold secrets."""
    split = urlsplit(url)
    if not split.hostname:
        return url[:200]
    netloc = split.hostname + (f":{split.port}" if split.port else "")
    return urlunsplit((split.scheme, netloc, split.path, "", ""))


def session_of(ctx: NodeContext) -> BrowserSession:
    if ctx.browser is None:
        raise NodeError(f"{ctx.node_type} has no browser: browser steps run in the browser lane, through the runner")
    return ctx.browser


@contextlib.asynccontextmanager
async def step_page(
    ctx: NodeContext, doing: str, timeout_s: float, credential: str | None = None
) -> AsyncIterator[Any]:
    """The execution's page while `doing` (e.g. "clicking 'button#save'"), which names the step's
    action in any error."""
    session = session_of(ctx)
    mark = session.guard.total
    async with session.page(ctx, credential) as page:
        try:
            yield page
        except NodeError:
            raise
        except TimeoutError:
            raise await _failed(ctx, page, f"{doing}: timed out after {timeout_s:g} s", retryable=True) from None
        except Exception as exc:
            if session.driver is None or not isinstance(exc, session.driver.Error):
                raise
            message = first_line(exc)
            refused = session.guard.since(mark)
            if isinstance(exc, session.driver.TimeoutError):
                raise await _failed(ctx, page, f"{doing}: timed out after {timeout_s:g} s", retryable=True) from None
            if refused and any(marker in message for marker in BLOCKED_MARKERS):
                raise NodeError(f"{doing}: {refused[-1].reason}", retryable=False) from None
            retryable = any(marker in message for marker in RETRYABLE_MARKERS)
            raise await _failed(ctx, page, f"{doing}: {message}", retryable=retryable) from None
        finally:
            for refusal in session.guard.since(mark):
                ctx.log.warning(f"blocked {shown(refusal.url)}: {refusal.reason}")


async def _failed(ctx: NodeContext, page: Any, message: str, *, retryable: bool) -> NodeError:
    """The step's error, naming the page and, when one could be taken, a screenshot of it."""
    url = shown(page.url) if not page.is_closed() else "a closed page"
    message = f"{message} (on {url})"
    artifact_id = await failure_screenshot(ctx, page)
    if artifact_id is not None:
        message += f"; screenshot: artifact {artifact_id}"
    return NodeError(message, retryable=retryable)


async def failure_screenshot(ctx: NodeContext, page: Any) -> str | None:
    """Store what the page looked like when the step failed; None when there is no store or page."""
    if ctx.artifacts is None or page.is_closed():
        return None
    try:
        data = await page.screenshot(timeout=FAILURE_SCREENSHOT_TIMEOUT_MS)
        artifact = await store_png(ctx, ctx.artifacts, data, "failure-screenshot")
    except Exception as exc:  # the step's own error matters more than its screenshot
        ctx.log.warning(f"no screenshot of the failed page: {type(exc).__name__}: {first_line(exc)}")
        return None
    ctx.log.error(
        "screenshot of the page when the step failed", artifact_id=str(artifact.id), url=artifact_url(artifact.id)
    )
    return str(artifact.id)


async def store_png(ctx: NodeContext, store: ArtifactStore, data: bytes, kind: str) -> Any:
    return await asyncio.to_thread(store.put, ctx.owner_id, ctx.execution_id, ctx.node_id, kind, "image/png", data)


def artifact_url(artifact_id: Any) -> str:
    """Where the API serves an artifact to its owner."""
    return f"/api/artifacts/{artifact_id}"
