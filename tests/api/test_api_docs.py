"""docs/api.md lists every operation of the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_operation_is_documented(app):
    text = DOCS.read_text()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if f"| `{method.upper()}` | `{path}` |" not in text
    ]

    assert missing == [], f"add these to docs/api.md: {missing}"
