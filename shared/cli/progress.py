"""A live table of an execution's steps, fed by the runner's events."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from shared.engine.store import EventWrite

STATUS_STYLE = {
    "pending": "dim",
    "running": "yellow",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "dim cyan",
}


class StepTable:
    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.rows: dict[str, dict[str, Any]] = {
            node["id"]: {"type": node["type"], "status": "pending", "attempts": "", "ms": "", "note": ""}
            for node in nodes
        }
        self.logs: list[str] = []

    def on_event(self, _execution_id: Any, event: EventWrite) -> None:
        payload = event.payload
        row = self.rows.get(payload.get("node_id", ""))
        if event.type == "log":
            self.logs.append(f"[{payload.get('node_id')}] {payload.get('level')}: {payload.get('message')}")
        if row is None:
            return
        if event.type == "step_started":
            row["status"] = "running"
        elif event.type in ("step_succeeded", "step_failed"):
            row["status"] = "succeeded" if event.type == "step_succeeded" else "failed"
            row["attempts"] = str(payload.get("attempts", ""))
            row["ms"] = f"{payload.get('duration_ms', 0):.1f}"
            row["note"] = payload.get("error", "")
        elif event.type == "step_skipped":
            row["status"] = "skipped"
            row["note"] = payload.get("reason", "")

    def render(self) -> Table:
        table = Table(title="steps", expand=False)
        for column, justify in (("node", "left"), ("type", "left"), ("status", "left"), ("attempts", "right")):
            table.add_column(column, justify=justify)
        table.add_column("ms", justify="right")
        table.add_column("note", overflow="fold", max_width=60)
        for node_id, row in self.rows.items():
            status = Text(row["status"], style=STATUS_STYLE.get(row["status"], ""))
            table.add_row(node_id, row["type"], status, row["attempts"], row["ms"], row["note"])
        return table
