"""docs/apps.md stays true: its workflow examples validate, and it covers every app node type."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.engine.validation import validate_definition
from shared.nodes import default_registry
from tests.nodes.apps.test_app_catalog import APP_TYPES

DOC = Path(__file__).resolve().parents[3] / "docs" / "apps.md"
EXAMPLES = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_every_app_has_an_example() -> None:
    used = {node["type"] for example in EXAMPLES for node in json.loads(example)["nodes"]}

    assert set(APP_TYPES) <= used


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: json.loads(example)["nodes"][0]["id"])
def test_example_workflow_validates(example: str) -> None:
    _definition, issues = validate_definition(json.loads(example), default_registry())

    assert issues == []
