"""Accessibility (axe-core finds no serious or critical violations), a 375 px wide layout that never
scrolls sideways, screenshots for the README, and the vitest suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ROOT, WEB

AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
DOCS_IMG = ROOT / "docs" / "img"
EXAMPLE = ROOT / "examples" / "order-triage.json"


@pytest.fixture(scope="module")
def sample_run(dev_server) -> dict:
    """A finished run of the order-triage example: a workflow with a condition and skipped steps."""
    import json

    with dev_server.api() as api:
        document = json.loads(EXAMPLE.read_text())
        workflow = api.post("/workflows/import", json=document).json()
        execution = api.post(f"/workflows/{workflow['id']}/runs", json={"input": {"threshold": 100}}).json()
        deadline = time.monotonic() + 30
        while api.get(f"/executions/{execution['execution_id']}").json()["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the sample run never finished"
            time.sleep(0.2)
        api.post("/credentials", json={"name": "github-token", "type": "bearer", "values": {"token": "t0ken"}})
    return {"workflow_id": workflow["id"], "execution_id": execution["execution_id"]}


def main_pages(sample_run: dict) -> dict[str, str]:
    return {
        "workflows": "/",
        "builder": f"/workflows/{sample_run['workflow_id']}",
        "run console": f"/executions/{sample_run['execution_id']}",
        "runs": "/executions",
        "credentials": "/credentials",
        "api keys": "/api-keys",
        "usage": "/usage",
        "audit": "/audit",
    }


def wait_until_ready(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    expect(page.locator("main")).to_be_visible()


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_have_no_serious_accessibility_violations(new_page, sample_run, scheme):
    page = new_page(color_scheme=scheme)
    found = {}
    for name, path in main_pages(sample_run).items():
        page.goto(path)
        wait_until_ready(page)
        if violations := serious_violations(page):
            found[name] = violations
    assert found == {}


def test_the_sign_in_page_has_no_serious_accessibility_violations(page: Page):
    page.route("**/config.json", lambda route: route.fulfill(json={"apiBase": "/api", "localApiKey": None}))
    page.goto("/")
    expect(page.get_by_role("button", name="Try as guest")).to_be_visible()

    assert serious_violations(page) == []


def test_nothing_scrolls_sideways_at_375_px(new_page, sample_run):
    page = new_page(width=375, height=800)
    wide = {}
    for name, path in main_pages(sample_run).items():
        page.goto(path)
        wait_until_ready(page)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > 375:
            wide[name] = width
    assert wide == {}


def test_screenshots_of_the_builder_and_the_run_console(new_page, sample_run, artifacts):
    """Written to the test artifacts; copied to docs/img (shown in the README) when missing or when
    FLOWBUILDER_UPDATE_SCREENSHOTS=1."""
    page = new_page(width=1600, height=900)
    shots = {
        "builder": f"/workflows/{sample_run['workflow_id']}",
        "run-console": f"/executions/{sample_run['execution_id']}",
    }
    page.goto("/")
    for scheme in ("light", "dark"):
        page.evaluate(f"localStorage.setItem('fb.theme', '{scheme}')")
        for name, path in shots.items():
            page.goto(path)
            wait_until_ready(page)
            expect(page.locator(".react-flow__node").first).to_be_visible()
            if name == "builder":
                page.get_by_test_id("step-large").click()
                expect(page.get_by_role("textbox", name="Expression", exact=True)).to_be_visible()
            if name == "run-console":
                page.get_by_test_id("step-row-large").get_by_role("button").first.click()
                expect(page.get_by_test_id("step-output-large")).to_contain_text("A-1")
            assert page.evaluate("document.documentElement.classList.contains('dark')") == (scheme == "dark")
            shot = artifacts / f"{name}-{scheme}.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            committed = DOCS_IMG / shot.name
            if os.environ.get("FLOWBUILDER_UPDATE_SCREENSHOTS") == "1" or not committed.exists():
                DOCS_IMG.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, committed)


def test_the_vitest_suite_passes(web_dist):
    npm = shutil.which("npm")
    done = subprocess.run([npm, "test", "--", "--run"], cwd=WEB, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert " passed" in done.stdout
