"""The builder and the run console in real Chromium against `flowbuilder dev`: build a workflow by
dragging from the palette and connecting, save, run it, watch every step turn green."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def drop_from_palette(page: Page, node_type: str, x: int, y: int) -> None:
    page.get_by_test_id(f"palette-{node_type}").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x, "y": y}
    )


def connect(page: Page, source: str, target: str) -> None:
    start = page.locator(f'.react-flow__node[data-id="{source}"] .react-flow__handle.source').first.bounding_box()
    end = page.locator(f'.react-flow__node[data-id="{target}"] .react-flow__handle.target').bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_build_save_run_and_watch_a_three_step_workflow(page: Page, dev_server):
    page.goto("/")
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    page.get_by_role("link", name="New workflow").click()
    expect(page.get_by_test_id("palette-data.map")).to_be_visible()

    drop_from_palette(page, "data.map", 120, 120)
    drop_from_palette(page, "text.combine", 420, 120)
    drop_from_palette(page, "flow.delay", 720, 120)
    expect(page.locator(".react-flow__node")).to_have_count(3)
    connect(page, "map", "combine")
    connect(page, "combine", "delay")
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    page.get_by_test_id("step-delay").click()
    page.get_by_role("textbox", name="Seconds", exact=True).fill("0")
    page.get_by_test_id("step-combine").click()
    page.get_by_role("textbox", name="Parts", exact=True).fill('["Hello, ", "{{ nodes.map.output.customer.name }}"]')
    page.get_by_label("Workflow name").fill("Greeting, three steps")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    workflow_id = page.url.rsplit("/", 1)[1]

    with dev_server.api() as api:
        saved = api.get(f"/workflows/{workflow_id}").json()
    assert saved["name"] == "Greeting, three steps"
    assert [node["type"] for node in saved["definition"]["nodes"]] == ["data.map", "text.combine", "flow.delay"]
    assert saved["definition"]["edges"] == [{"from": "map", "to": "combine"}, {"from": "combine", "to": "delay"}]

    page.get_by_role("tab", name="Run").click()
    expect(page.get_by_test_id("credit-estimate")).to_contain_text("Estimated cost: 0 credits")
    page.get_by_label("input.name").fill("Ada")
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f-]{36}$"))

    for step in ("map", "combine", "delay"):
        expect(page.get_by_test_id(f"step-row-{step}")).to_have_attribute("data-status", "succeeded")
        expect(page.get_by_test_id(f"step-{step}")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-status").locator("[data-status]")).to_have_attribute("data-status", "succeeded")

    page.get_by_test_id("step-row-combine").get_by_role("button").first.click()
    expect(page.get_by_test_id("step-output-combine")).to_contain_text('"text": "Hello, Ada"')


def test_a_validation_error_is_shown_on_its_node(page: Page, dev_server):
    with dev_server.api() as api:
        before = api.get("/workflows").json()["count"]
    page.goto("/workflows/new")
    page.get_by_test_id("palette-http.request").click()
    page.get_by_role("textbox", name="Url", exact=True).fill("https://example.com/?q={{ input.q ")

    page.get_by_role("button", name="Save", exact=True).click()

    node = page.get_by_test_id("step-request")
    expect(node).to_have_attribute("data-invalid", "true")
    expect(page.get_by_test_id("issues-request")).to_contain_text("config.url")
    expect(page.get_by_role("alert").first).to_contain_text("invalid")
    expect(page).to_have_url(re.compile(r"/workflows/new$"))
    with dev_server.api() as api:
        assert api.get("/workflows").json()["count"] == before


def test_undo_and_redo_canvas_edits(page: Page):
    page.goto("/workflows/new")
    page.get_by_test_id("palette-data.map").click()
    page.get_by_test_id("palette-text.combine").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)

    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.get_by_role("button", name="Redo").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)


def test_a_browser_steps_screenshot_is_shown_inline(page: Page, dev_server):
    definition = {
        "nodes": [
            {"id": "visit", "type": "browser.goto", "config": {"url": f"{dev_server.url}/favicon.svg"}},
            {"id": "shot", "type": "browser.screenshot", "config": {}},
        ],
        "edges": [{"from": "visit", "to": "shot"}],
    }
    with dev_server.api() as api:
        workflow = api.post("/workflows", json={"name": "Screenshot", "definition": definition}).json()
        execution_id = api.post(f"/workflows/{workflow['id']}/runs", json={"input": {}}).json()["execution_id"]

    page.goto(f"/executions/{execution_id}")
    expect(page.get_by_test_id("step-row-shot")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    page.get_by_test_id("step-row-shot").get_by_role("button").first.click()

    image = page.get_by_role("img", name="Screenshot from step shot")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 1280


def test_a_workflow_can_be_built_with_the_keyboard_alone(page: Page, dev_server):
    page.goto("/workflows/new")
    page.get_by_test_id("palette-data.map").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("palette-text.combine").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__node")).to_have_count(2)

    page.locator('.react-flow__node[data-id="map"]').focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("form", name="Configure step map")).to_be_visible()
    page.get_by_label("Connect to").focus()
    page.get_by_label("Connect to").select_option("combine")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.get_by_label("Workflow name").fill("Keyboard only")
    page.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")

    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    with dev_server.api() as api:
        saved = api.get(f"/workflows/{page.url.rsplit('/', 1)[1]}").json()
    assert saved["definition"]["edges"] == [{"from": "map", "to": "combine"}]


def start_run(dev_server, definition: dict) -> str:
    with dev_server.api() as api:
        workflow = api.post("/workflows", json={"name": "Console actions", "definition": definition}).json()
        return api.post(f"/workflows/{workflow['id']}/runs", json={"input": {}}).json()["execution_id"]


def test_a_failed_step_shows_its_error_and_the_run_resumes_from_it(page: Page, dev_server, server):
    server.route("/flaky", status=500, body="boom")
    definition = {
        "nodes": [
            {"id": "first", "type": "text.combine", "config": {"parts": ["ok"]}},
            {"id": "call", "type": "http.request", "config": {"url": server.url("/flaky")}},
        ],
        "edges": [{"from": "first", "to": "call"}],
    }
    page.goto(f"/executions/{start_run(dev_server, definition)}")
    expect(page.get_by_test_id("step-row-call")).to_have_attribute("data-status", "failed")
    page.get_by_test_id("step-row-call").get_by_role("button").first.click()
    expect(page.get_by_test_id("step-row-call").get_by_role("alert")).to_contain_text("500")

    server.route("/flaky", status=200, body={"fixed": True})
    page.get_by_role("button", name="Resume from failed step").click()

    expect(page.get_by_role("link", name="an earlier run")).to_be_visible()
    expect(page.get_by_test_id("step-row-call")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-status").locator("[data-status]")).to_have_attribute("data-status", "succeeded")


def test_a_running_run_can_be_cancelled(page: Page, dev_server):
    definition = {  # the runner stops between steps: the cancel lands when `wait` ends
        "nodes": [
            {"id": "wait", "type": "flow.delay", "config": {"seconds": 3}},
            {"id": "after", "type": "text.combine", "config": {"parts": ["never"]}},
        ],
        "edges": [{"from": "wait", "to": "after"}],
    }
    page.goto(f"/executions/{start_run(dev_server, definition)}")
    expect(page.get_by_test_id("step-row-wait")).to_have_attribute("data-status", "running")

    page.get_by_role("button", name="Cancel").click()

    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    status = page.get_by_test_id("run-status").locator("[data-status]")
    expect(status).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_test_id("step-row-after")).to_have_attribute("data-status", "pending")
