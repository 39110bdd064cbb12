"""Fire times: a schedule's matching wall-clock times as UTC instants, through DST gaps and overlaps.

The DST rules (clock-cadence against fixed-time schedules) are set out in `shared.scheduling`'s docstring;
`_resolve` applies them to one wall time and `_fire_times_after` puts the results in order. The day
helpers let `plan_due_runs` count a long run of misfires by whole local days instead of one by one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from shared.cron.expression import CronFields

_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


class FireTimeSearch:
    """The fire-time search of `CronSchedule`, which sets `_fields` and `_zone`. Instants are aware UTC.

    A base class rather than an object the schedule holds, so these methods stay the schedule's own:
    `plan_due_runs` calls them on it, and a subclass or patch of `_resolve` reaches every search.
    """

    _fields: CronFields
    _zone: ZoneInfo

    def _fire_times_after(self, after: datetime) -> Iterator[datetime]:
        """Fire times strictly after `after` (aware UTC), in order, following the DST rules."""
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
