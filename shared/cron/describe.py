"""A schedule in plain language, e.g. "at 09:30 on Monday to Friday (Europe/Berlin)"; best effort.

Readings cover the common shapes (steady cadences, a few fixed times, an hour range); anything else falls
back to quoting the expression.
"""

from __future__ import annotations

from shared.cron.expression import CronFields
from shared.cron.wording import MONTHS, WEEKDAYS, join, phrase, spans


def describe_schedule(fields: CronFields, cron: str, timezone: str) -> str:
    times, days = _describe_times(fields), _describe_days(fields)
    if times is None:
        return f"on cron schedule '{cron}' ({timezone})"
    if times.startswith("at ") and not days.startswith("on "):
        days = f"every day {days}".strip()
    return " ".join(filter(None, (times, days, f"({timezone})")))


def _cadence(values: tuple[int, ...], size: int) -> int | None:
    """n when `values` is every n-th value from 0 and n divides `size` (a steady cadence), else None."""
    step = values[1] - values[0] if len(values) > 1 else size
    steady = values[0] == 0 and size % step == 0 and values == tuple(range(0, size, step))
    return step if steady and step < size else None


def _describe_times(fields: CronFields) -> str | None:
    minutes, hours = fields.minutes, fields.hours
    minute_step, hour_step = _cadence(minutes, 60), _cadence(hours, 24)
    every_minutes = "every minute" if minute_step == 1 else f"every {minute_step} minutes"
    if minute_step and hour_step == 1:
        return every_minutes
    if len(minutes) == 1 and hour_step:
        every_hours = "every hour" if hour_step == 1 else f"every {hour_step} hours"
        return every_hours if minutes[0] == 0 else f"{every_hours} at minute {minutes[0]}"
    if len(minutes) * len(hours) <= 6:
        return "at " + join([f"{hour:02}:{minute:02}" for hour in hours for minute in minutes])
    if (minute_step or len(minutes) == 1) and len(spans(list(hours))) == 1:
        lead = every_minutes if minute_step else "every hour"
        return f"{lead} from {hours[0]:02}:{minutes[0]:02} to {hours[-1]:02}:{minutes[-1]:02}"
    return None


def _describe_days(fields: CronFields) -> str:
    days, months = list(fields.days), list(fields.months)
    monthly = "" if len(months) == 12 else f"in {phrase(months, lambda m: MONTHS[m - 1])}"
    if fields.days_restricted and not fields.weekdays_restricted and len(days) == 1 and len(months) == 1:
        return f"on {days[0]} {MONTHS[months[0] - 1]}"
    choices = []
    if fields.days_restricted:
        choices.append(f"on day{'s' if len(days) > 1 else ''} {phrase(days)} of the month")
    if fields.weekdays_restricted:
        monday_first = sorted((weekday + 6) % 7 for weekday in fields.weekdays)
        choices.append(f"on {phrase(monday_first, lambda d: WEEKDAYS[(d + 1) % 7])}")
    return " ".join(filter(None, (" or ".join(choices), monthly)))
