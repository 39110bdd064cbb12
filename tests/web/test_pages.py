"""Schedules, webhooks, versions, credentials and API keys through the app, checked against the API."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

GREETING = {
    "nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["Hello, ", "{{ input.name }}"]}}],
    "edges": [],
}


@pytest.fixture
def workflow(dev_server) -> dict:
    with dev_server.api() as api:
        return api.post("/workflows", json={"name": "Pages", "definition": GREETING}).json()


def test_a_schedule_reads_its_cron_aloud_and_lists_the_next_five_fire_times(page: Page, dev_server, workflow):
    page.goto(f"/workflows/{workflow['id']}")
    page.get_by_role("tab", name="Schedule").click()

    page.get_by_label("Cron expression").fill("30 8 * * 1-5")
    page.get_by_label("Time zone").select_option("Europe/Berlin")

    expect(page.get_by_test_id("cron-reading")).to_have_text("At 08:30 on weekdays")
    expect(page.get_by_test_id("fire-times").locator("li")).to_have_count(5)
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    with dev_server.api() as api:
        schedule = api.get(f"/workflows/{workflow['id']}/schedule").json()
    assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == ("30 8 * * 1-5", "Europe/Berlin", True)


def test_a_bad_cron_is_explained_and_cannot_be_saved(page: Page, workflow):
    page.goto(f"/workflows/{workflow['id']}")
    page.get_by_role("tab", name="Schedule").click()

    page.get_by_label("Cron expression").fill("0 25 * * *")

    expect(page.get_by_test_id("cron-reading")).to_have_text("hour: 25 is not between 0 and 23")
    expect(page.get_by_role("button", name="Save schedule")).to_be_disabled()


def test_a_webhook_url_is_shown_once_and_rotation_replaces_it(page: Page, dev_server, workflow):
    page.goto(f"/workflows/{workflow['id']}")
    page.get_by_role("tab", name="Webhook").click()

    page.get_by_role("button", name="Create webhook").click()
    first = page.get_by_test_id("webhook-url").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_test_id("webhook-url")).not_to_have_text(first)
    second = page.get_by_test_id("webhook-url").inner_text()

    assert httpx.post(first, json={"name": "old"}).status_code == 404
    assert httpx.post(second, json={"name": "Ada"}).status_code == 202


def test_restoring_a_version_makes_a_new_current_version(page: Page, dev_server, workflow):
    changed = {**GREETING, "nodes": [{**GREETING["nodes"][0], "config": {"parts": ["Hi"]}}]}
    with dev_server.api() as api:
        api.patch(f"/workflows/{workflow['id']}", json={"definition": changed}).raise_for_status()
    page.goto(f"/workflows/{workflow['id']}")
    page.get_by_role("tab", name="Versions").click()

    page.get_by_role("button", name="Restore version 1").click()

    expect(page.get_by_test_id("save-state")).to_have_text("Version 3")
    with dev_server.api() as api:
        current = api.get(f"/workflows/{workflow['id']}").json()
    assert current["definition"]["nodes"][0]["config"] == GREETING["nodes"][0]["config"]


def test_credentials_are_write_only_and_offered_by_name_in_the_builder(page: Page, dev_server):
    page.goto("/credentials")
    page.get_by_label("Name").fill("crm-token")
    page.get_by_label("Type").select_option("bearer")
    page.get_by_label("token").fill("s3cret-value")
    page.get_by_role("button", name="Store credential").click()

    expect(page.get_by_role("cell", name="crm-token", exact=True)).to_be_visible()
    expect(page.get_by_text("s3cret-value")).to_have_count(0)
    with dev_server.api() as api:
        assert "s3cret-value" not in api.get("/credentials/crm-token").text

    page.goto("/workflows/new")
    page.get_by_test_id("palette-http.request").click()
    picker = page.get_by_role("combobox", name="Credential", exact=True)
    expect(picker.locator("option", has_text="crm-token (bearer)")).to_have_count(1)


def test_an_api_key_is_shown_once_and_works_until_revoked(page: Page, dev_server):
    page.goto("/api-keys")
    page.get_by_label("Name").fill("ci key")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create key").click()

    key = page.locator("code").first.inner_text()
    assert httpx.get(f"{dev_server.url}/api/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    page.reload()
    expect(page.get_by_text(key)).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke ci key").click()
    expect(page.get_by_text("revoked", exact=False).first).to_be_visible()
    assert httpx.get(f"{dev_server.url}/api/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_a_template_becomes_a_draft_workflow(page: Page, dev_server):
    page.goto("/")
    page.get_by_role("button", name="From a template").click()

    page.get_by_role("button", name="Use template Lead router").click()

    expect(page.locator(".react-flow__node")).to_have_count(4)
    workflow_id = page.url.rsplit("/", 1)[1]
    with dev_server.api() as api:
        assert api.get(f"/workflows/{workflow_id}").json()["status"] == "draft"
