"""Cron maths for workflow schedules: validation, previews, and which fire times a scheduler tick runs.

No database and no I/O. The API validates and previews with it; the scheduler tick asks `plan_due_runs`
what is due and where `next_run_at` moves to. All instants in and out are aware UTC datetimes.

Expressions are standard 5-field cron (minute hour day-of-month month day-of-week) with numbers, `*`,
ranges `1-5`, lists `1,15`, steps `*/15`, `1-30/5` or `5/15`, month names JAN-DEC, day names SUN-SAT and
7 for Sunday, or one of the `ALIASES`. When day-of-month and day-of-week are both restricted (not `*`),
a day matches if either does, as in Vixie cron and croniter.

Fire times are matched in the schedule's local wall-clock time and converted to UTC by
`shared.cron.fire_times` rather than by croniter, whose DST handling runs a daily job twice on a fall-back
day (croniter 7.0.0 gives both 00:30Z and 01:30Z for `30 2 * * *` in Europe/Berlin on 2026-10-25). DST
follows Vixie cron's two kinds of job:

- Clock-cadence schedules, whose minute or hour field starts with `*` (`*/15 * * * *`, `0 * * * *`,
  `@hourly`), fire whenever the wall clock shows a matching time: wall times a spring-forward gap skips
  do not fire, and wall times a fall-back overlap repeats fire in both passes. Their cadence in real time
  stays steady through both changes: every 15 minutes is every 15 minutes of elapsed time. (So
  `*/15 2 * * *` does not fire on a day whose 02:00-02:59 is skipped and fires 8 times when it repeats.)
- Fixed-time schedules (all others: `30 2 * * *`, `@daily`, `0 9 * * 1-5`) fire once per matching wall
  time: a wall time inside a gap fires at the first instant after the gap (02:30 on Berlin's spring-forward
  day fires at 03:00 CEST), and a wall time inside an overlap fires at its first occurrence only.

This module is the public face; the parts live in `shared.cron`: `expression` (parsing, aliases and
their messages), `fire_times` (wall time to UTC under the rules above), `describe` (plain language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from zoneinfo import ZoneInfo, available_timezones

from shared.cron.describe import describe_schedule
from shared.cron.expression import ALIASES, CronFields, ScheduleError, parse_cron
from shared.cron.fire_times import FireTimeSearch

__all__ = [
    "ALIASES",
    "MISFIRE_POLICIES",
    "CronSchedule",
    "DueRuns",
    "ScheduleError",
    "plan_due_runs",
    "validate_misfire_policy",
    "validate_timezone",
]

MISFIRE_POLICIES = ("skip", "run_once")

_NOT_IANA_KEYS = frozenset({"Factory", "localtime", "posixrules"})
_TICK = timedelta(microseconds=1)


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
class CronSchedule(FireTimeSearch):
    """A validated cron expression in an IANA time zone. Construct with `parse`; fire times are aware UTC."""

    cron: str
    timezone: str = "UTC"
    _fields: CronFields = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cron, fields = parse_cron(self.cron)
        object.__setattr__(self, "_fields", fields)
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
        return describe_schedule(self._fields, self.cron, self.timezone)


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
