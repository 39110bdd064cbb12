"""The audit trail: every successful authenticated write leaves a row; reads and failures do not;
`GET /api/audit` shows only one's own rows, newest first, cursor-paged."""

from __future__ import annotations

from sqlmodel import Session, select

from shared.db.models import AuditLog

DEFINITION = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


def create_workflow(caller, name: str = "audited") -> str:
    response = caller.client.post("/api/workflows", json={"name": name, "definition": DEFINITION})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_write_leaves_a_row_with_actor_action_target_and_ip_hash(caller, engine):
    workflow_id = create_workflow(caller)

    caller.client.patch(f"/api/workflows/{workflow_id}", json={"description": "changed"})

    with Session(engine) as session:
        rows = session.exec(select(AuditLog).where(AuditLog.actor_id == caller.user_id).order_by(AuditLog.at)).all()
    assert [row.action for row in rows] == ["POST /api/workflows", "PATCH /api/workflows/{workflow_id}"]
    assert (rows[1].target_type, rows[1].target_id) == ("workflow", workflow_id)
    assert rows[0].target_type == "workflows"
    assert rows[1].ip_hash and len(rows[1].ip_hash) == 64


def test_reads_failed_writes_and_anonymous_calls_leave_no_row(caller, anonymous, engine):
    caller.client.get("/api/workflows")
    caller.client.post("/api/workflows", json={"name": ""})  # 422
    anonymous.post("/api/workflows", json={"name": "x", "definition": DEFINITION})  # 401

    assert caller.client.get("/api/audit").json()["data"] == []


def test_the_audit_list_shows_only_ones_own_rows(caller, stranger):
    create_workflow(caller, "mine")
    create_workflow(stranger, "theirs")

    mine = caller.client.get("/api/audit").json()["data"]
    theirs = stranger.client.get("/api/audit").json()["data"]

    assert len(mine) == 1 and len(theirs) == 1
    assert {row["id"] for row in mine}.isdisjoint(row["id"] for row in theirs)
    assert "ip_hash" not in mine[0]


def test_the_audit_list_is_cursor_paged_newest_first(caller):
    ids = [create_workflow(caller, f"w{n}") for n in range(3)]
    for workflow_id in ids:
        caller.client.post(f"/api/workflows/{workflow_id}/archive")

    first = caller.client.get("/api/audit", params={"limit": 4}).json()
    second = caller.client.get("/api/audit", params={"limit": 4, "cursor": first["next_cursor"]}).json()

    assert len(first["data"]) == 4 and len(second["data"]) == 2 and second["next_cursor"] is None
    assert first["data"][0]["target_id"] == ids[-1]
    assert first["data"][0]["action"] == "POST /api/workflows/{workflow_id}/archive"
    assert [row["action"] for row in second["data"]] == ["POST /api/workflows"] * 2
    assert caller.client.get("/api/audit", params={"cursor": "not-a-cursor"}).status_code == 400
