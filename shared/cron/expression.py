"""Cron expressions: parsing fields and aliases, the messages for bad ones, and the wall times they match.

The syntax accepted is set out in `shared.scheduling`'s docstring. Everything here is in the schedule's
local wall-clock time; `fire_times` turns wall times into UTC instants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.cron.wording import MONTHS, WEEKDAYS, phrase

ALIASES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 fires in leap years
_ITEM = re.compile(r"(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\w+))?", re.ASCII)
_DAY = timedelta(days=1)


class ScheduleError(ValueError):
    """A schedule setting is invalid. The message starts with the field: "cron: ...", "timezone: ..."."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] spells the value `low + i` (case-insensitive, 3 letters)
    names_hint: str = ""


_FIELD_SPECS = (
    _FieldSpec("minute", 0, 59),
    _FieldSpec("hour", 0, 23),
    _FieldSpec("day-of-month", 1, 31),
    _FieldSpec("month", 1, 12, tuple(m[:3].lower() for m in MONTHS), " or a month name like JAN"),
    _FieldSpec("day-of-week", 0, 7, tuple(d[:3].lower() for d in WEEKDAYS), " or a day name like MON"),
)


def parse_cron(cron: str) -> tuple[str, CronFields]:
    """The expression normalised (whitespace collapsed, alias lower-cased) and its fields; raises ScheduleError."""
    if not isinstance(cron, str):
        raise ScheduleError("cron: expression must be a string")
    cron = " ".join(cron.split())
    if not cron:
        raise ScheduleError("cron: expression is empty")
    if cron.startswith("@"):
        cron = cron.lower()
        if cron not in ALIASES:
            raise ScheduleError(f"cron: {cron} is not supported; use 5 fields or one of {', '.join(ALIASES)}")
    return cron, CronFields.parse(ALIASES.get(cron, cron))


def _parse_value(token: str, spec: _FieldSpec, text: str) -> int:
    if token.isdigit():
        value = int(token)
    elif token.lower() in spec.names:
        value = spec.low + spec.names.index(token.lower())
    else:
        raise ScheduleError(f"cron: {spec.name} field {text!r}: {token!r} is not a number{spec.names_hint}")
    if not spec.low <= value <= spec.high:
        raise ScheduleError(f"cron: {spec.name} value {value} is out of range {spec.low}-{spec.high}")
    return value


def _parse_field(text: str, spec: _FieldSpec) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ScheduleError(
                f"cron: {spec.name} field {text!r} is not valid; use numbers, *, ranges (1-5), lists (1,15) "
                "and steps (*/15)"
            )
        star, first, last, step_text = match.groups()
        step = 1
        if step_text is not None:
            if not step_text.isdigit():
                raise ScheduleError(f"cron: {spec.name} step {step_text!r} is not a number")
            step = int(step_text)
            if not 1 <= step <= spec.high - spec.low:
                raise ScheduleError(f"cron: {spec.name} step must be 1-{spec.high - spec.low}, got {step}")
        if star:
            low, high = spec.low, spec.high
        else:
            low = _parse_value(first, spec, text)
            high = _parse_value(last, spec, text) if last else spec.high if step_text else low
            if low > high:
                raise ScheduleError(f"cron: {spec.name} range {first}-{last} runs backwards; write it low-high")
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week":
        values = {value % 7 for value in values}
    return tuple(sorted(values))


@dataclass(frozen=True)
class CronFields:
    """A parsed expression: the matching values of each field, in the schedule's local wall-clock time."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    clock_cadence: bool  # minute or hour field starts with "*": see `shared.scheduling`'s docstring

    @classmethod
    def parse(cls, expression: str) -> CronFields:
        texts = expression.split()
        if len(texts) != 5:
            extra = "; seconds and years are not supported" if len(texts) > 5 else ""
            raise ScheduleError(
                f"cron: expected 5 fields (minute hour day-of-month month day-of-week) or an alias like "
                f"@daily, got {len(texts)}{extra}"
            )
        minutes, hours, days, months, weekdays = (_parse_field(t, s) for t, s in zip(texts, _FIELD_SPECS, strict=True))
        fields = cls(
            minutes,
            hours,
            days,
            months,
            weekdays,
            texts[2] != "*",
            texts[4] != "*",
            texts[0].startswith("*") or texts[1].startswith("*"),
        )
        if not fields.weekdays_restricted and all(days[0] > _DAYS_IN_MONTH[m - 1] for m in months):
            raise ScheduleError(
                f"cron: the schedule never fires: day-of-month {texts[2]!r} never falls in "
                f"{phrase(list(months), lambda m: MONTHS[m - 1])}"
            )
        return fields

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def fires_per_day(self, day: date) -> int:
        return len(self.hours) * len(self.minutes) if self.day_matches(day) else 0

    def walls_from(self, start: datetime) -> Iterator[datetime]:
        """Matching naive wall-clock times at or after `start`'s minute, in order."""
        day, earliest = start.date(), (start.hour, start.minute)
        while True:
            if self.day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        if (hour, minute) >= earliest:
                            yield datetime.combine(day, time(hour, minute))
            if day == date.max:
                return
            day, earliest = day + _DAY, (0, 0)
