"""Starter workflows ("templates"): JSON files beside this module, in the export format
(`{"format": "flowbuilder.workflow/v1", "name", "description", "definition"}`). A starter's id is its
file name without `.json`. They use only node types that run offline, and `flowbuilder run` reads
the files as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Starter:
    id: str
    name: str
    description: str
    definition: dict[str, Any]

    @property
    def node_count(self) -> int:
        return len(self.definition.get("nodes", []))


@cache
def load_starters() -> tuple[Starter, ...]:
    """Every starter, sorted by id; read once per process."""
    starters = []
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            starters.append(
                Starter(entry.name.removesuffix(".json"), data["name"], data.get("description", ""), data["definition"])
            )
    return tuple(sorted(starters, key=lambda starter: starter.id))


def get_starter(starter_id: str) -> Starter | None:
    return next((starter for starter in load_starters() if starter.id == starter_id), None)
