"""Cron maths for workflow schedules: validation, previews, and which fire times a scheduler tick runs.

No database and no I/O. The API validates and previews with it; the scheduler tick asks `plan_due_runs`
what is due and where `next_run_at` moves to. All instants in and out are aware UTC datetimes.

Expressions are standard 5-field cron (minute hour day-of-month month day-of-week) with numbers, `*`,
ranges `1-5`, lists `1,15`, steps `*/15`, `1-30/5` or `5/15`, month names JAN-DEC, day names SUN-SAT and
7 for Sunday, or one of the `ALIASES`. When day-of-month and day-of-week are both restricted (not `*`),
a day matches if either does, as in Vixie cron and croniter.

Fire times are matched in the schedule's local wall-clock time and converted to UTC here rather than by
croniter, whose DST handling runs a daily job twice on a fall-back day (croniter 7.0.0 gives both 00:30Z
and 01:30Z for `30 2 * * *` in Europe/Berlin on 2026-10-25). DST follows Vixie cron's two kinds of job:

- Clock-cadence schedules, whose minute or hour field starts with `*` (`*/15 * * * *`, `0 * * * *`,
  `@hourly`), fire whenever the wall clock shows a matching time: wall times a spring-forward gap skips
  do not fire, and wall times a fall-back overlap repeats fire in both passes. Their cadence in real time
  stays steady through both changes: every 15 minutes is every 15 minutes of elapsed time. (So
  `*/15 2 * * *` does not fire on a day whose 02:00-02:59 is skipped and fires 8 times when it repeats.)
- Fixed-time schedules (all others: `30 2 * * *`, `@daily`, `0 9 * * 1-5`) fire once per matching wall
  time: a wall time inside a gap fires at the first instant after the gap (02:30 on Berlin's spring-forward
  day fires at 03:00 CEST), and a wall time inside an overlap fires at its first occurrence only.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import islice, takewhile
from zoneinfo import ZoneInfo, available_timezones

ALIASES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MISFIRE_POLICIES = ("skip", "run_once")

_MONTHS = (
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
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 fires in leap years
_NOT_IANA_KEYS = frozenset({"Factory", "localtime", "posixrules"})
_ITEM = re.compile(r"(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\w+))?", re.ASCII)
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


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
    _FieldSpec("month", 1, 12, tuple(m[:3].lower() for m in _MONTHS), " or a month name like JAN"),
    _FieldSpec("day-of-week", 0, 7, tuple(d[:3].lower() for d in _WEEKDAYS), " or a day name like MON"),
)


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
class _CronFields:
    """A parsed expression: the matching values of each field, in the schedule's local wall-clock time."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    clock_cadence: bool  # minute or hour field starts with "*": see the module docstring

    @classmethod
    def parse(cls, expression: str) -> _CronFields:
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
                f"{_phrase(list(months), lambda m: _MONTHS[m - 1])}"
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


@cache
def _iana_keys() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_IANA_KEYS


def validate_timezone(name: str) -> ZoneInfo:
    """The zone for an IANA key such as "Europe/Berlin" or "UTC"; anything else raises ScheduleError."""
    hint = "use an IANA name such as 'Europe/Berlin' or 'UTC'"
    if not isinstance(name, str):
        raise ScheduleError(f"timezone: must be a string; {hint}")
    if not name.strip():
        raise ScheduleError(f"timezone: must not be empty; {hint}")
    if name not in _iana_keys():
        close = [key for key in _iana_keys() if key.lower() == name.strip().lower()]
        hint = f"did you mean {close[0]!r}?" if close else hint
        raise ScheduleError(f"timezone: unknown time zone {name!r}; {hint}")
    return ZoneInfo(name)


def validate_misfire_policy(policy: str) -> str:
    if policy not in MISFIRE_POLICIES:
        raise ScheduleError(f"misfire_policy: must be 'skip' or 'run_once', got {policy!r}")
    return policy


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression in an IANA time zone. Construct with `parse`; fire times are aware UTC."""

    cron: str
    timezone: str = "UTC"
    _fields: _CronFields = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.cron, str):
            raise ScheduleError("cron: expression must be a string")
        cron = " ".join(self.cron.split())
        if not cron:
            raise ScheduleError("cron: expression is empty")
        if cron.startswith("@"):
            cron = cron.lower()
            if cron not in ALIASES:
                raise ScheduleError(f"cron: {cron} is not supported; use 5 fields or one of {', '.join(ALIASES)}")
        object.__setattr__(self, "_fields", _CronFields.parse(ALIASES.get(cron, cron)))
        timezone = self.timezone.strip() if isinstance(self.timezone, str) else self.timezone
        object.__setattr__(self, "_zone", validate_timezone(timezone))
        object.__setattr__(self, "cron", cron)
        object.__setattr__(self, "timezone", timezone)

    @classmethod
    def parse(cls, cron: str, timezone: str = "UTC") -> CronSchedule:
        """Validate both settings (raising ScheduleError) and normalise whitespace and alias case."""
        return cls(cron, timezone)

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after `after`."""
        fire_time = next(self._fire_times_after(_as_utc(after, "after")), None)
        if fire_time is None:
            raise ValueError(f"cron: {self.cron!r} has no fire time after {after.isoformat()}")
        return fire_time

    def next_times(self, after: datetime, count: int = 5) -> list[datetime]:
        """The next `count` fire times strictly after `after`, strictly increasing."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        return list(islice(self._fire_times_after(_as_utc(after, "after")), count))

    def describe(self) -> str:
        """A plain-language reading, e.g. "at 09:30 on Monday to Friday (Europe/Berlin)"; best effort."""
        times, days = _describe_times(self._fields), _describe_days(self._fields)
        if times is None:
            return f"on cron schedule '{self.cron}' ({self.timezone})"
        if times.startswith("at ") and not days.startswith("on "):
            days = f"every day {days}".strip()
        return " ".join(filter(None, (times, days, f"({self.timezone})")))

    def _fire_times_after(self, after: datetime) -> Iterator[datetime]:
        """Fire times strictly after `after` (aware UTC), in order, following the module's DST rules."""
        zone = self._zone
        # Start from the wall time `after` shows in the lower of the offsets now and a day on, so the
        # second pass of an overlap that lies ahead (earlier wall times, later instants) is not missed.
        offset = min(after.astimezone(zone).utcoffset(), (after + _DAY).astimezone(zone).utcoffset())
        repeats: deque[datetime] = deque()  # second passes of repeated wall times, later than what follows
        last = after
        for wall in self._fields.walls_from(after.replace(tzinfo=None) + offset):
            first, second = self._resolve(wall)
            if first is not None:
                while repeats and repeats[0] < first:
                    if (instant := repeats.popleft()) > last:
                        last = instant
                        yield instant
                if first > last:
                    last = first
                    yield first
            if second is not None:
                repeats.append(second)

    def _resolve(self, wall: datetime) -> tuple[datetime | None, datetime | None]:
        """The instant a wall time fires at, and, for a clock-cadence repeated wall time, its second pass."""
        before = wall.replace(tzinfo=self._zone).utcoffset()  # fold=0: the offset before a transition
        after = wall.replace(tzinfo=self._zone, fold=1).utcoffset()
        if before == after:
            return (wall - before).replace(tzinfo=UTC), None
        if before > after:
            second = (wall - after).replace(tzinfo=UTC) if self._fields.clock_cadence else None
            return (wall - before).replace(tzinfo=UTC), second
        if self._fields.clock_cadence:
            return None, None
        return self._gap_end((wall - after).replace(tzinfo=UTC), (wall - before).replace(tzinfo=UTC)), None

    def _gap_end(self, low: datetime, high: datetime) -> datetime:
        """The transition instant in [low, high]: the first whose offset is `high`'s (whole seconds)."""
        offset = high.astimezone(self._zone).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = (low + (high - low) / 2).replace(microsecond=0)
            low, high = (low, middle) if middle.astimezone(self._zone).utcoffset() == offset else (middle, high)
        return high

    def _fire_times_between(self, low: datetime, high: datetime) -> Iterator[datetime]:
        """Fire times in [low, high)."""
        return takewhile(lambda instant: instant < high, self._fire_times_after(low - _TICK))

    def _day_start(self, day: date) -> datetime:
        """The first instant whose local date is `day`: local midnight, or the end of a gap over it."""
        wall = datetime.combine(day, time())
        before, after = (wall.replace(tzinfo=self._zone, fold=fold).utcoffset() for fold in (0, 1))
        if before >= after:
            return (wall - before).replace(tzinfo=UTC)
        return self._gap_end((wall - after).replace(tzinfo=UTC), (wall - before).replace(tzinfo=UTC))

    def _is_plain_day(self, day: date) -> bool:
        """One offset from just before this local day to its end: its wall times map one-to-one into it.

        The instant before matters where a gap ends at midnight: the previous day's skipped wall times
        then fire at this day's first instant.
        """
        walls = (datetime.combine(day, time()), datetime.combine(day + _DAY, time()))
        offsets = {wall.replace(tzinfo=self._zone, fold=fold).utcoffset() for wall in walls for fold in (0, 1)}
        offsets.add((self._day_start(day) - timedelta(seconds=1)).astimezone(self._zone).utcoffset())
        return len(offsets) == 1

    def _count_between(self, low: datetime, high: datetime) -> int:
        """How many fire times lie in [low, high): whole plain days by arithmetic, the rest one by one."""
        count, day = 0, low.astimezone(self._zone).date()
        while self._day_start(day) > low:  # only in zones whose local date ever steps back
            day -= _DAY
        while (start := self._day_start(day)) < high:
            end = self._day_start(day + _DAY)
            if end > low:
                plain = self._is_plain_day(day)
                if plain and low <= start and end <= high:
                    count += self._fields.fires_per_day(day)
                elif not plain or self._fields.day_matches(day):
                    count += sum(1 for _ in self._fire_times_between(max(low, start), min(high, end)))
            day += _DAY
        return count

    def _last_between(self, low: datetime, high: datetime) -> datetime | None:
        """The latest fire time in [low, high), searching back one local day at a time."""
        day = (high - _TICK).astimezone(self._zone).date()
        while self._day_start(day + _DAY) < high:  # an overlap across midnight can show the day before
            day += _DAY
        while (end := self._day_start(day + _DAY)) > low:
            if not self._is_plain_day(day) or self._fields.day_matches(day):
                fire_times = list(self._fire_times_between(max(low, self._day_start(day)), min(high, end)))
                if fire_times:
                    return fire_times[-1]
            day -= _DAY
        return None


@dataclass(frozen=True)
class DueRuns:
    fire_times: list[datetime]  # the fire times to run now (UTC), oldest first
    skipped: int  # how many missed fire times were dropped
    next_run_at: datetime  # where next_run_at moves to (strictly after now)


def plan_due_runs(
    schedule: CronSchedule,
    next_run_at: datetime,
    now: datetime,
    policy: str = "skip",
    grace: timedelta = timedelta(minutes=5),
    max_catch_up_scan: int = 10_000,
) -> DueRuns:
    """What a scheduler tick at `now` runs for a schedule whose stored next fire time is `next_run_at`.

    Fire times in [now - grace, now] are on time and all run. Older ones in [next_run_at, now - grace) are
    misfires: `skip` drops them all; `run_once` runs the latest of them as one catch-up run (before any
    on-time runs) and drops the rest; `grace` bounds how many on-time runs there can be. Misfires are
    walked one by one up to `max_catch_up_scan`; past that (a long outage) the rest are counted by whole
    local days, so a year of every-minute misfires costs a few hundred day checks, not 500k steps.
    """
    next_run_at, now = _as_utc(next_run_at, "next_run_at"), _as_utc(now, "now")
    validate_misfire_policy(policy)
    if grace < timedelta(0) or max_catch_up_scan < 1:
        raise ValueError("grace must not be negative and max_catch_up_scan must be at least 1")
    if next_run_at > now:
        return DueRuns([], 0, next_run_at)
    cutoff = now - grace
    missed, latest_missed = 0, None
    for fire_time in schedule._fire_times_between(next_run_at, cutoff):
        missed, latest_missed = missed + 1, fire_time
        if missed == max_catch_up_scan:
            rest = fire_time + _TICK
            missed += schedule._count_between(rest, cutoff)
            latest_missed = schedule._last_between(rest, cutoff) or latest_missed
            break
    on_time = list(schedule._fire_times_between(max(cutoff, next_run_at), now + _TICK))
    if policy == "run_once" and latest_missed is not None:
        return DueRuns([latest_missed, *on_time], missed - 1, schedule.next_after(now))
    return DueRuns(on_time, missed, schedule.next_after(now))


def _spans(values: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for value in values:
        if spans and spans[-1][1] == value - 1:
            spans[-1] = (spans[-1][0], value)
        else:
            spans.append((value, value))
    return spans


def _phrase(values: list[int], name: Callable[[int], str] = str) -> str:
    """`[1, 2, 3, 5]` -> "1 to 3 and 5": runs of three or more become ranges."""
    items: list[str] = []
    for low, high in _spans(values):
        if high - low >= 2:
            items.append(f"{name(low)} to {name(high)}")
        else:
            items.extend(name(value) for value in range(low, high + 1))
    return _join(items)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _cadence(values: tuple[int, ...], size: int) -> int | None:
    """n when `values` is every n-th value from 0 and n divides `size` (a steady cadence), else None."""
    step = values[1] - values[0] if len(values) > 1 else size
    steady = values[0] == 0 and size % step == 0 and values == tuple(range(0, size, step))
    return step if steady and step < size else None


def _describe_times(fields: _CronFields) -> str | None:
    minutes, hours = fields.minutes, fields.hours
    minute_step, hour_step = _cadence(minutes, 60), _cadence(hours, 24)
    every_minutes = "every minute" if minute_step == 1 else f"every {minute_step} minutes"
    if minute_step and hour_step == 1:
        return every_minutes
    if len(minutes) == 1 and hour_step:
        every_hours = "every hour" if hour_step == 1 else f"every {hour_step} hours"
        return every_hours if minutes[0] == 0 else f"{every_hours} at minute {minutes[0]}"
    if len(minutes) * len(hours) <= 6:
        return "at " + _join([f"{hour:02}:{minute:02}" for hour in hours for minute in minutes])
    if (minute_step or len(minutes) == 1) and len(_spans(list(hours))) == 1:
        lead = every_minutes if minute_step else "every hour"
        return f"{lead} from {hours[0]:02}:{minutes[0]:02} to {hours[-1]:02}:{minutes[-1]:02}"
    return None


def _describe_days(fields: _CronFields) -> str:
    days, months = list(fields.days), list(fields.months)
    monthly = "" if len(months) == 12 else f"in {_phrase(months, lambda m: _MONTHS[m - 1])}"
    if fields.days_restricted and not fields.weekdays_restricted and len(days) == 1 and len(months) == 1:
        return f"on {days[0]} {_MONTHS[months[0] - 1]}"
    choices = []
    if fields.days_restricted:
        choices.append(f"on day{'s' if len(days) > 1 else ''} {_phrase(days)} of the month")
    if fields.weekdays_restricted:
        monday_first = sorted((weekday + 6) % 7 for weekday in fields.weekdays)
        choices.append(f"on {_phrase(monday_first, lambda d: _WEEKDAYS[(d + 1) % 7])}")
    return " ".join(filter(None, (" or ".join(choices), monthly)))
