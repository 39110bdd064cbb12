"""Workflow schedules over HTTP: set, read, preview, enable / disable, remove, and waking the scheduler.

Checks hold whatever the date: fire times are compared with each other and with their local wall time,
never with fixed instants, so they pass on both sides of a DST change.
"""

from __future__ import annotations

import sys
import types
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

WEEKDAYS_AT_NINE = {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
DEFINITION = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}]}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def workflow_id(caller) -> str:
    response = caller.client.post("/api/workflows", json={"name": "scheduled", "definition": DEFINITION})
    return response.json()["id"]


@pytest.fixture
def scheduled(caller, workflow_id) -> dict:
    response = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=WEEKDAYS_AT_NINE)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def wake_calls(monkeypatch) -> list[datetime]:
    """A stand-in for `shared.scheduler.gate` that records what the API asks it to do."""
    calls: list[datetime] = []
    gate = types.ModuleType("shared.scheduler.gate")
    gate.lower_next_wake = lambda _settings, at: calls.append(at)
    package = types.ModuleType("shared.scheduler")
    package.gate = gate
    monkeypatch.setitem(sys.modules, "shared.scheduler", package)
    monkeypatch.setitem(sys.modules, "shared.scheduler.gate", gate)
    return calls


def test_saving_a_schedule_computes_the_next_run_after_now(caller, workflow_id):
    before = datetime.now(UTC)

    body = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=WEEKDAYS_AT_NINE).json()

    next_run = instant(body["next_run_at"])
    times = [instant(text) for text in body["next_fire_times"]]
    assert next_run > before
    assert next_run == times[0]
    assert len(times) == 5 and times == sorted(set(times))
    assert (body["cron"], body["timezone"], body["misfire_policy"], body["enabled"]) == (
        "0 9 * * 1-5",
        "Europe/Berlin",
        "skip",
        True,
    )


def test_fire_times_fall_on_weekdays_at_nine_berlin_time(scheduled):
    local = [instant(text).astimezone(ZoneInfo("Europe/Berlin")) for text in scheduled["next_fire_times"]]

    assert all((t.hour, t.minute, t.weekday() < 5) == (9, 0, True) for t in local)
    assert scheduled["description"] == "at 09:00 on Monday to Friday (Europe/Berlin)"


def test_the_workflow_shows_its_saved_schedule(caller, workflow_id, scheduled):
    body = caller.client.get(f"/api/workflows/{workflow_id}").json()

    assert (body["cron"], body["timezone"], body["schedule_enabled"]) == ("0 9 * * 1-5", "Europe/Berlin", True)
    assert instant(body["next_run_at"]) == instant(scheduled["next_run_at"])


def test_get_returns_the_saved_schedule(caller, workflow_id, scheduled):
    body = caller.client.get(f"/api/workflows/{workflow_id}/schedule").json()

    assert (body["cron"], body["enabled"], body["misfire_policy"]) == ("0 9 * * 1-5", True, "skip")
    assert instant(body["next_run_at"]) == instant(scheduled["next_run_at"])
    assert len(body["next_fire_times"]) == 5


def test_a_workflow_without_a_schedule_answers_404_with_a_clear_message(caller, workflow_id):
    response = caller.client.get(f"/api/workflows/{workflow_id}/schedule")

    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("this workflow has no schedule")


def test_a_schedule_saved_disabled_has_no_next_run(caller, workflow_id):
    body = caller.client.put(
        f"/api/workflows/{workflow_id}/schedule", json={"cron": "*/15 * * * *", "enabled": False}
    ).json()

    assert (body["enabled"], body["next_run_at"]) == (False, None)
    assert len(body["next_fire_times"]) == 5


def test_cron_aliases_and_the_run_once_policy_are_kept(caller, workflow_id):
    body = caller.client.put(
        f"/api/workflows/{workflow_id}/schedule", json={"cron": " @DAILY ", "misfire_policy": "run_once"}
    ).json()

    assert (body["cron"], body["timezone"], body["misfire_policy"]) == ("@daily", "UTC", "run_once")


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 9 * *", "expected 5 fields"),
        ("61 * * * *", "minute value 61 is out of range 0-59"),
        ("", "expression is empty"),
        ("0 0 30 2 *", "never fires"),
        ("@fortnightly", "is not supported"),
    ],
)
def test_an_invalid_cron_is_422_naming_cron(caller, workflow_id, cron, message):
    response = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json={"cron": cron})

    detail = response.json()["error"]["details"][0]
    assert response.status_code == 422
    assert detail["field"] == "cron" and message in detail["message"]
    assert caller.client.get(f"/api/workflows/{workflow_id}").json()["cron"] is None


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "CEST", "Europe/Atlantis"])
def test_an_unknown_timezone_is_422_naming_timezone(caller, workflow_id, timezone):
    response = caller.client.put(
        f"/api/workflows/{workflow_id}/schedule", json={"cron": "@daily", "timezone": timezone}
    )

    detail = response.json()["error"]["details"][0]
    assert response.status_code == 422
    assert detail["field"] == "timezone"
    assert "IANA" in detail["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "@daily", "misfire_policy": "catch_up"}, "misfire_policy"),
        ({"cron": "@daily", "enabled": "sometimes"}, "enabled"),
        ({"cron": "* " * 100}, "cron"),
        ({"cron": 5}, "cron"),
        ({"timezone": "UTC"}, "cron"),
        ({"cron": "@daily", "jitter": 5}, "jitter"),
    ],
)
def test_a_malformed_schedule_body_is_422_naming_the_field(caller, workflow_id, body, field):
    response = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


@pytest.mark.parametrize(
    "raw", ['{"cron": "@\\ud800"}', '{"cron": "@daily", "timezone": "\\ud800"}', '{"cron": "@daily\\u0000"}']
)
def test_a_schedule_with_text_no_database_can_store_is_422(caller, workflow_id, raw):
    response = caller.client.put(
        f"/api/workflows/{workflow_id}/schedule", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422


def test_preview_shows_fire_times_and_saves_nothing(caller, workflow_id):
    response = caller.client.post(f"/api/workflows/{workflow_id}/schedule/preview", json=WEEKDAYS_AT_NINE)

    body = response.json()
    assert response.status_code == 200
    assert instant(body["next_run_at"]) == instant(body["next_fire_times"][0])
    assert caller.client.get(f"/api/workflows/{workflow_id}/schedule").status_code == 404


def test_preview_rejects_an_invalid_cron(caller, workflow_id):
    response = caller.client.post(f"/api/workflows/{workflow_id}/schedule/preview", json={"cron": "every day"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cron"


def test_disabling_clears_the_next_run(caller, workflow_id, scheduled):
    body = caller.client.post(f"/api/workflows/{workflow_id}/schedule/disable").json()

    assert (body["enabled"], body["next_run_at"]) == (False, None)
    workflow = caller.client.get(f"/api/workflows/{workflow_id}").json()
    assert (workflow["schedule_enabled"], workflow["next_run_at"], workflow["cron"]) == (False, None, "0 9 * * 1-5")


def test_enabling_recomputes_the_next_run_from_now(caller, workflow_id, scheduled):
    caller.client.post(f"/api/workflows/{workflow_id}/schedule/disable")
    before = datetime.now(UTC)

    body = caller.client.post(f"/api/workflows/{workflow_id}/schedule/enable").json()

    assert body["enabled"] is True
    assert instant(body["next_run_at"]) > before
    assert instant(body["next_run_at"]) == instant(body["next_fire_times"][0])


@pytest.mark.parametrize("action", ["enable", "disable"])
def test_enable_and_disable_without_a_schedule_are_404(caller, workflow_id, action):
    response = caller.client.post(f"/api/workflows/{workflow_id}/schedule/{action}")

    assert response.status_code == 404
    assert "no schedule" in response.json()["error"]["message"]


def test_an_archived_workflow_cannot_get_an_enabled_schedule(caller, workflow_id):
    caller.client.post(f"/api/workflows/{workflow_id}/archive")

    response = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=WEEKDAYS_AT_NINE)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_deleting_the_schedule_removes_it(caller, workflow_id, scheduled):
    response = caller.client.delete(f"/api/workflows/{workflow_id}/schedule")

    assert response.status_code == 204
    assert caller.client.get(f"/api/workflows/{workflow_id}/schedule").status_code == 404
    workflow = caller.client.get(f"/api/workflows/{workflow_id}").json()
    assert (workflow["cron"], workflow["schedule_enabled"], workflow["next_run_at"]) == (None, False, None)


def test_deleting_a_missing_schedule_is_404(caller, workflow_id):
    assert caller.client.delete(f"/api/workflows/{workflow_id}/schedule").status_code == 404


def test_saving_an_enabled_schedule_lowers_the_scheduler_wake_time(caller, workflow_id, wake_calls):
    body = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=WEEKDAYS_AT_NINE).json()

    assert wake_calls == [instant(body["next_run_at"])]


def test_enabling_lowers_the_wake_time_and_disabled_schedules_do_not(caller, workflow_id, wake_calls):
    caller.client.put(f"/api/workflows/{workflow_id}/schedule", json={**WEEKDAYS_AT_NINE, "enabled": False})
    assert wake_calls == []

    body = caller.client.post(f"/api/workflows/{workflow_id}/schedule/enable").json()

    assert wake_calls == [instant(body["next_run_at"])]


def test_a_failing_wake_gate_does_not_fail_the_save(caller, workflow_id, wake_calls):
    def broken(_settings, _at):
        raise OSError("store unreachable")

    sys.modules["shared.scheduler.gate"].lower_next_wake = broken

    response = caller.client.put(f"/api/workflows/{workflow_id}/schedule", json=WEEKDAYS_AT_NINE)

    assert response.status_code == 200
    assert caller.client.get(f"/api/workflows/{workflow_id}").json()["schedule_enabled"] is True


def test_an_unknown_workflow_has_no_schedule_to_set(caller):
    response = caller.client.put(f"/api/workflows/{uuid.uuid4()}/schedule", json=WEEKDAYS_AT_NINE)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "workflow not found"


SCHEDULE_ROUTES = [
    ("put", "/schedule", WEEKDAYS_AT_NINE | {"cron": "@hourly"}),
    ("get", "/schedule", None),
    ("post", "/schedule/preview", WEEKDAYS_AT_NINE),
    ("post", "/schedule/enable", None),
    ("post", "/schedule/disable", None),
    ("delete", "/schedule", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), SCHEDULE_ROUTES)
def test_another_owners_schedule_is_404_and_stays_unchanged(
    caller, stranger, workflow_id, scheduled, method, suffix, body
):
    before = caller.client.get(f"/api/workflows/{workflow_id}").json()

    response = stranger.client.request(method, f"/api/workflows/{workflow_id}{suffix}", json=body)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "workflow not found"
    assert caller.client.get(f"/api/workflows/{workflow_id}").json() == before
