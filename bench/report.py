"""Structured benchmark results: each benchmark prints one `BENCH-RESULT <json>` line per section,
which `bench.write_report` collects into docs/performance.md.

A row is one measure: our figure, the peer's figure from the same run (if any), their ratio as the
goal reads it, and the goal. Figures are numbers; units and the ratio's direction travel with them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

MARKER = "BENCH-RESULT "


@dataclass
class Row:
    measure: str
    ours: float | None
    unit: str
    peer: str = ""
    peer_value: float | None = None
    ratio: float | None = None
    """How the goal compares the two: e.g. peer / ours for "10x below Prefect", ours / bare for "<= 1.5x"."""
    ratio_label: str = ""
    goal: str = ""
    met: bool | None = None


@dataclass
class Section:
    benchmark: str
    command: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def emit(section: Section) -> None:
    """Print the section for the report writer (one line, after the benchmark's own output)."""
    print(MARKER + json.dumps(asdict(section)), flush=True)


def parse(output: str) -> list[Section]:
    """Every section a benchmark printed."""
    sections = []
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            rows = [Row(**row) for row in data.pop("rows")]
            sections.append(Section(**data, rows=rows))
    return sections


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit
