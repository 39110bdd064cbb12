"""`browser.*`: drive a real Chromium, one per execution, shared by its browser steps.

The browser, its egress guard and its lifetime are in `shared.browser`; configs in `browser_config`.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.browser.egress_proxy import PROXY_HEADER
from shared.browser.step_page import artifact_url, session_of, shown, step_page, store_png
from shared.engine.errors import NodeError
from shared.nodes.browser_config import (
    ClickConfig,
    EvaluateConfig,
    ExtractConfig,
    FillConfig,
    GotoConfig,
    ScreenshotConfig,
    WaitForConfig,
)
from shared.nodes.registry import NodeType

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

READ_ELEMENT = """
const read = (el, attribute, trim) => {
  if (!el) return null;
  if (attribute) {
    const property = ["href", "src", "value"].includes(attribute) ? el[attribute] : undefined;
    return typeof property === "string" ? property : el.getAttribute(attribute);
  }
  const text = el instanceof HTMLElement ? el.innerText : el.textContent;
  return trim && typeof text === "string" ? text.trim() : text;
};
"""
READ_ONE = f"(el, [attribute, trim]) => {{ {READ_ELEMENT} return read(el, attribute, trim); }}"
READ_ALL = f"""(elements, [fields, attribute, trim, limit]) => {{
  {READ_ELEMENT}
  const picked = elements.slice(0, limit);
  const items = fields
    ? picked.map((el) => Object.fromEntries(Object.entries(fields).map(([name, spec]) =>
        [name, read(spec.selector ? el.querySelector(spec.selector) : el, spec.attribute, trim)])))
    : picked.map((el) => read(el, attribute, trim));
  return {{ items, total: elements.length }};
}}"""


def _timeout(ctx: NodeContext, timeout_s: float | None) -> float:
    limit = ctx.settings.browser_timeout_s
    return min(timeout_s or limit, limit)


async def run_goto(ctx: NodeContext, config: GotoConfig) -> dict[str, Any]:
    """Open a URL in the execution's browser and return the final URL, HTTP status and page title.

    The first browser step of an execution starts the browser (local headless Chromium, or a remote
    one from a `browser_cdp` credential); later steps continue on the same page, with its cookies.
    Only http and https URLs are opened; every request the page makes, redirects included, passes the
    same egress guard as `http.request`. A status of 400 and above fails the step unless
    `raise_for_status` is off (408, 429 and 5xx retryably).
    """
    timeout = _timeout(ctx, config.timeout_s)
    target = shown(config.url)
    async with step_page(ctx, f"opening {target}", timeout, config.credential) as page:
        mark = session_of(ctx).guard.total
        response = await page.goto(config.url, wait_until=config.wait_until, timeout=timeout * 1000)
        refused = session_of(ctx).guard.refusal_of_host(urlsplit(page.url).hostname, mark)
        if refused is not None:
            raise NodeError(f"opening {target}: {refused.reason}")
        status = response.status if response is not None else None
        if response is not None and PROXY_HEADER.lower() in response.headers:
            reason = await response.text()
            raise NodeError(f"opening {target}: {reason}", retryable=status != 403)
        if config.raise_for_status and status is not None and status >= 400:
            retryable = status in (408, 429) or status >= 500
            raise NodeError(f"opening {target}: the page answered HTTP {status}", retryable=retryable)
        title = await page.title()
        ctx.log.info(f"opened {shown(page.url)} -> {status}", status=status)
        return {"url": page.url, "status": status, "title": title}


async def run_click(ctx: NodeContext, config: ClickConfig) -> dict[str, Any]:
    """Click the first element matching `selector`, waiting until it is visible, enabled and stable.

    With `wait_until`, also wait for the page to reach that load state (a submitted form's result).
    Returns the page's URL and title afterwards.
    """
    timeout = _timeout(ctx, config.timeout_s)
    async with step_page(ctx, f"clicking {config.selector!r}", timeout) as page:
        await page.locator(config.selector).first.click(
            button=config.button, click_count=config.click_count, timeout=timeout * 1000
        )
        if config.wait_until is not None:
            await page.wait_for_load_state(config.wait_until, timeout=timeout * 1000)
        return {"url": page.url, "title": await page.title()}


async def run_fill(ctx: NodeContext, config: FillConfig) -> dict[str, Any]:
    """Type `value` into the first input, textarea or editable element matching `selector`,
    replacing its content; optionally press Enter afterwards."""
    timeout = _timeout(ctx, config.timeout_s)
    async with step_page(ctx, f"filling {config.selector!r}", timeout) as page:
        field = page.locator(config.selector).first
        await field.fill(config.value, timeout=timeout * 1000)
        if config.press_enter:
            await field.press("Enter", timeout=timeout * 1000)
        return {"selector": config.selector, "url": page.url}


async def run_wait_for(ctx: NodeContext, config: WaitForConfig) -> dict[str, Any]:
    """Wait until an element matching `selector` is visible (or attached, hidden, detached): content
    that a page loads or reveals after it has loaded."""
    timeout = _timeout(ctx, config.timeout_s)
    async with step_page(ctx, f"waiting for {config.selector!r} to be {config.state}", timeout) as page:
        await page.locator(config.selector).first.wait_for(state=config.state, timeout=timeout * 1000)
        return {"selector": config.selector, "state": config.state, "url": page.url}


async def run_extract(ctx: NodeContext, config: ExtractConfig) -> dict[str, Any]:
    """Read from the page: the text (or an `attribute`) of the first element matching `selector` as
    `value`; of every match as `values` with `all`; or with `fields`, one record per match as
    `records`, each field read inside its element (CSS selectors). `href`, `src` and `value` come back
    as the browser resolves them (absolute URLs, current input values).

    A single value waits for its element; lists read what is there (use `browser.wait_for` first).
    """
    settings = ctx.settings
    timeout = _timeout(ctx, config.timeout_s)
    async with step_page(ctx, f"extracting {config.selector!r}", timeout) as page:
        locator = page.locator(config.selector)
        if config.fields is None and not config.all:
            await locator.first.wait_for(state="attached", timeout=timeout * 1000)
            value = await locator.first.evaluate(READ_ONE, [config.attribute, config.trim])
            return _capped(ctx, {"value": value})
        limit = settings.browser_max_extract_items
        fields = config.field_specs() if config.fields is not None else None
        found = await locator.evaluate_all(READ_ALL, [fields, config.attribute, config.trim, limit])
        if found["total"] > limit:
            ctx.log.warning(f"{found['total']} elements matched; the first {limit} were read")
        key = "records" if fields is not None else "values"
        return _capped(ctx, {key: found["items"], "count": len(found["items"])})


async def run_screenshot(ctx: NodeContext, config: ScreenshotConfig) -> dict[str, Any]:
    """Take a PNG screenshot of the page (the viewport, the `full_page`, or one element) and store it
    as an artifact. Returns a reference (`artifact_id`, and `url`, where the API serves it to the
    workflow's owner), not the image."""
    if ctx.artifacts is None:
        raise NodeError("browser.screenshot needs an artifact store, and this run has none")
    timeout = _timeout(ctx, config.timeout_s)
    doing = f"taking a screenshot of {config.selector!r}" if config.selector else "taking a screenshot"
    async with step_page(ctx, doing, timeout) as page:
        if config.selector:
            data = await page.locator(config.selector).first.screenshot(timeout=timeout * 1000)
        else:
            data = await page.screenshot(full_page=config.full_page, timeout=timeout * 1000)
        limit = ctx.settings.browser_max_screenshot_bytes
        if len(data) > limit:
            raise NodeError(f"the screenshot is {len(data)} bytes, over the limit of {limit}")
        artifact = await store_png(ctx, ctx.artifacts, data, "screenshot")
        ctx.log.info(f"screenshot of {shown(page.url)} stored", artifact_id=str(artifact.id), size=len(data))
        return {
            "artifact_id": str(artifact.id),
            "url": artifact_url(artifact.id),
            "content_type": "image/png",
            "size": len(data),
            "page_url": page.url,
        }


async def run_evaluate(ctx: NodeContext, config: EvaluateConfig) -> dict[str, Any]:
    """Run JavaScript in the page and return its JSON-able `result` (promises are awaited).

    Risk: the code runs with the page's full authority: it can read and change everything the page
    shows, its cookies and storage, and send requests as the signed-in user (the egress guard still
    applies). Never build the code from untrusted input (a webhook body, scraped text): templates
    in `expression` become code. Pass such data in `arg` to a function expression instead.
    """
    timeout = _timeout(ctx, config.timeout_s)
    async with step_page(ctx, "evaluating the expression", timeout) as page:
        async with asyncio.timeout(timeout):
            result = await page.evaluate(config.expression, config.arg)
        return _capped(ctx, {"result": result})


def _capped(ctx: NodeContext, output: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(output, default=str))
    limit = ctx.settings.browser_max_output_bytes
    if size > limit:
        raise NodeError(f"the result is {size} bytes as JSON, over the limit of {limit} (browser_max_output_bytes)")
    return output


NODE_TYPES = (
    NodeType(name="browser.goto", config_model=GotoConfig, run=run_goto, cost=2, lane="browser"),
    NodeType(name="browser.click", config_model=ClickConfig, run=run_click, lane="browser", side_effects=True),
    NodeType(name="browser.fill", config_model=FillConfig, run=run_fill, lane="browser", side_effects=True),
    NodeType(name="browser.wait_for", config_model=WaitForConfig, run=run_wait_for, lane="browser"),
    NodeType(name="browser.extract", config_model=ExtractConfig, run=run_extract, lane="browser"),
    NodeType(name="browser.screenshot", config_model=ScreenshotConfig, run=run_screenshot, cost=2, lane="browser"),
    NodeType(name="browser.evaluate", config_model=EvaluateConfig, run=run_evaluate, lane="browser", side_effects=True),
)
