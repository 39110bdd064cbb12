"""English for cron values: month and day names, and lists read with runs as ranges.

Shared by the parser (names in expressions, its "never fires" message) and by `describe`.
"""

from __future__ import annotations

from collections.abc import Callable

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def spans(values: list[int]) -> list[tuple[int, int]]:
    """`[1, 2, 3, 5]` -> `[(1, 3), (5, 5)]`: runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def phrase(values: list[int], name: Callable[[int], str] = str) -> str:
    """`[1, 2, 3, 5]` -> "1 to 3 and 5": runs of three or more become ranges."""
    items: list[str] = []
    for low, high in spans(values):
        if high - low >= 2:
            items.append(f"{name(low)} to {name(high)}")
        else:
            items.extend(name(value) for value in range(low, high + 1))
    return join(items)


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
