"""The baseline the API benchmarks compare against: FastAPI with one route, wrapped in Mangum, and
nothing else (no database, no settings, no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from mangum import Mangum


def build_app(body: dict[str, Any]) -> FastAPI:
    """An app whose one route answers `body` for any workflow id."""
    app = FastAPI()

    @app.get("/api/workflows/{workflow_id}")
    def get_workflow(workflow_id: str) -> dict[str, Any]:
        return body

    return app


app = build_app({"id": "00000000-0000-0000-0000-000000000000", "name": "bare"})
handler = Mangum(app, lifespan="off")
