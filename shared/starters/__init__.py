"""Starter workflows ("templates"): JSON files beside this module, in the export format
(`{"format": "flowbuilder.workflow/v1", "name", "description", "definition"}`). A starter's id is its
file name without `.json`. `flowbuilder run` reads the files as they are. Starters that name no
credential run offline as they are; the others (LLM, email, SMS, Slack) list the credentials to
create first, and are copies of the tested examples in `examples/integrations`.
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

    @property
    def credentials(self) -> list[str]:
        """Names of the credentials its nodes use: create them before running it."""
        names = {node.get("config", {}).get("credential") for node in self.definition.get("nodes", [])}
        return sorted(name for name in names if isinstance(name, str))


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
