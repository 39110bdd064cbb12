"""Cron maths: parsing and rejection, time zones, DST gaps and overlaps, misfire planning, descriptions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from shared.scheduling import (
    ALIASES,
    CronSchedule,
    DueRuns,
    ScheduleError,
    plan_due_runs,
    validate_misfire_policy,
    validate_timezone,
)

BERLIN, NEW_YORK, LORD_HOWE = "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """An aware UTC instant for a local wall time (fold=1 picks the second pass of a repeated hour)."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def fire_times_on(schedule: CronSchedule, zone: str, year: int, month: int, day: int) -> list[datetime]:
    """Fire times whose local date is the given day."""
    zone_info, start = ZoneInfo(zone), local(zone, year, month, day)
    times = schedule.next_times(start - timedelta(microseconds=1), 200)
    return [t for t in times if t.astimezone(zone_info).date() == start.astimezone(zone_info).date()]


def gaps(times: list[datetime]) -> set[timedelta]:
    return {later - earlier for earlier, later in pairwise(times)}


# --- expressions and aliases -------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_fires_like_its_five_field_form(alias: str) -> None:
    after = utc(2026, 5, 17, 13, 7)
    assert CronSchedule.parse(alias).next_times(after, 3) == CronSchedule.parse(ALIASES[alias]).next_times(after, 3)


def test_alias_is_case_insensitive_and_stored_lower_case() -> None:
    assert CronSchedule.parse(" @DAILY ").cron == "@daily"


def test_whitespace_between_fields_is_normalised() -> None:
    assert CronSchedule.parse("  0\t9  * *   1-5 ").cron == "0 9 * * 1-5"


def test_month_and_weekday_names_match_their_numbers() -> None:
    after = utc(2026, 1, 1)
    named = CronSchedule.parse("0 9 * jan-MAR Mon-fri").next_times(after, 20)
    assert named == CronSchedule.parse("0 9 * 1-3 1-5").next_times(after, 20)


def test_seven_in_day_of_week_is_sunday() -> None:
    after = utc(2026, 1, 1)
    assert CronSchedule.parse("0 9 * * 7").next_times(after, 5) == CronSchedule.parse("0 9 * * 0").next_times(after, 5)


def test_restricted_day_of_month_and_day_of_week_match_either() -> None:
    times = CronSchedule.parse("0 0 13 * 5").next_times(utc(2026, 2, 1), 4)
    assert times == [utc(2026, 2, 6), utc(2026, 2, 13), utc(2026, 2, 20), utc(2026, 2, 27)]


def test_step_from_a_start_value_runs_to_the_end_of_the_field() -> None:
    times = CronSchedule.parse("5/20 10 * * *").next_times(utc(2026, 1, 1), 4)
    assert [t.minute for t in times] == [5, 25, 45, 5]


def test_leap_day_schedule_waits_for_the_next_leap_year() -> None:
    assert CronSchedule.parse("0 12 29 2 *").next_after(utc(2026, 1, 1)) == utc(2028, 2, 29, 12)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("", "cron: expression is empty", id="empty"),
        pytest.param("   ", "cron: expression is empty", id="blank"),
        pytest.param(
            "0 * * * * *",
            "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an alias "
            "like @daily, got 6; seconds and years are not supported",
            id="seconds",
        ),
        pytest.param("0 0 * * * * 2026", "got 7; seconds and years are not supported", id="seven-fields"),
        pytest.param("0 * * *", "cron: expected 5 fields", id="four-fields"),
        pytest.param("@reboot", "cron: @reboot is not supported; use 5 fields or one of @yearly", id="reboot"),
        pytest.param("@fortnightly", "cron: @fortnightly is not supported", id="unknown-alias"),
        pytest.param("60 * * * *", "cron: minute value 60 is out of range 0-59", id="minute-range"),
        pytest.param("0 24 * * *", "cron: hour value 24 is out of range 0-23", id="hour-range"),
        pytest.param("0 0 0 * *", "cron: day-of-month value 0 is out of range 1-31", id="day-zero"),
        pytest.param("0 0 32 * *", "cron: day-of-month value 32 is out of range 1-31", id="day-range"),
        pytest.param("0 0 * 13 *", "cron: month value 13 is out of range 1-12", id="month-range"),
        pytest.param("0 0 * * 8", "cron: day-of-week value 8 is out of range 0-7", id="weekday-range"),
        pytest.param("*/0 * * * *", "cron: minute step must be 1-59, got 0", id="zero-step"),
        pytest.param("0 */24 * * *", "cron: hour step must be 1-23, got 24", id="step-too-large"),
        pytest.param(
            "0 0 * * FRI-MON", "cron: day-of-week range FRI-MON runs backwards; write it low-high", id="backwards-range"
        ),
        pytest.param(
            "0 0 * FOO *", "cron: month field 'FOO': 'FOO' is not a number or a month name like JAN", id="unknown-name"
        ),
        pytest.param("0 0 L * *", "cron: day-of-month field 'L': 'L' is not a number", id="quartz-last-day"),
        pytest.param("H * * * *", "cron: minute field 'H': 'H' is not a number", id="hashed"),
        pytest.param(
            "0 0 ? * *",
            "cron: day-of-month field '?' is not valid; use numbers, *, ranges (1-5), lists (1,15) and steps (*/15)",
            id="question-mark",
        ),
        pytest.param("1,,2 * * * *", "cron: minute field '1,,2' is not valid", id="empty-list-item"),
        pytest.param("-5 * * * *", "cron: minute field '-5' is not valid", id="negative"),
        pytest.param("*/x * * * *", "cron: minute step 'x' is not a number", id="step-not-number"),
        pytest.param("every day", "cron: expected 5 fields", id="garbage"),
        pytest.param(
            "0 0 30 2 *", "cron: the schedule never fires: day-of-month '30' never falls in February", id="february-30"
        ),
        pytest.param("0 0 31 4,6 *", "never falls in April and June", id="short-months"),
    ],
)
def test_invalid_expression_is_rejected_naming_the_field_and_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        CronSchedule.parse(expression)


def test_non_string_expression_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="cron: expression must be a string"):
        CronSchedule.parse(None)  # type: ignore[arg-type]


def test_schedule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cron:"):
        CronSchedule.parse("nope")


# --- time zones --------------------------------------------------------------------------------------------


def test_iana_timezone_is_accepted() -> None:
    assert validate_timezone(BERLIN) == ZoneInfo(BERLIN)


def test_unknown_timezone_is_rejected_naming_the_field() -> None:
    with pytest.raises(ScheduleError, match=re.escape("timezone: unknown time zone 'Mars/Olympus_Mons'; use an")):
        CronSchedule.parse("0 9 * * *", "Mars/Olympus_Mons")


def test_wrong_case_timezone_suggests_the_iana_key() -> None:
    with pytest.raises(ScheduleError, match=re.escape("timezone: unknown time zone 'europe/berlin'; did you mean")):
        validate_timezone("europe/berlin")


@pytest.mark.parametrize(
    "name", ["localtime", "Factory", "posixrules", "/etc/localtime", "../zoneinfo/UTC", "+01:00", "UTC+1", "posix/UTC"]
)
def test_names_that_are_not_iana_keys_are_rejected(name: str) -> None:
    with pytest.raises(ScheduleError, match=r"^timezone: unknown time zone"):
        validate_timezone(name)


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_timezone_is_rejected(name: str) -> None:
    with pytest.raises(ScheduleError, match=r"^timezone: must not be empty"):
        validate_timezone(name)


def test_fire_times_follow_the_local_wall_clock_in_winter_and_summer() -> None:
    schedule = CronSchedule.parse("30 9 * * *", BERLIN)
    assert schedule.next_after(utc(2026, 1, 15)) == utc(2026, 1, 15, 8, 30)
    assert schedule.next_after(utc(2026, 7, 15)) == utc(2026, 7, 15, 7, 30)


# --- DST: spring forward -----------------------------------------------------------------------------------

SPRING_FORWARD = [  # zone, gap day, a wall time inside the gap, the first valid instant after the gap
    pytest.param(BERLIN, (2026, 3, 29), "30 2 * * *", local(BERLIN, 2026, 3, 29, 3), id="berlin"),
    pytest.param(NEW_YORK, (2026, 3, 8), "30 2 * * *", local(NEW_YORK, 2026, 3, 8, 3), id="new-york"),
    pytest.param(LORD_HOWE, (2026, 10, 4), "15 2 * * *", local(LORD_HOWE, 2026, 10, 4, 2, 30), id="lord-howe"),
]


@pytest.mark.parametrize(("zone", "day", "cron", "gap_end"), SPRING_FORWARD)
def test_daily_job_in_the_spring_forward_gap_runs_once_at_the_end_of_the_gap(zone, day, cron, gap_end) -> None:
    assert fire_times_on(CronSchedule.parse(cron, zone), zone, *day) == [gap_end]


@pytest.mark.parametrize(("zone", "day"), [(BERLIN, (2026, 3, 29)), (NEW_YORK, (2026, 3, 8))])
def test_hourly_job_keeps_an_hourly_cadence_through_spring_forward(zone: str, day: tuple[int, int, int]) -> None:
    times = fire_times_on(CronSchedule.parse("@hourly", zone), zone, *day)
    assert len(times) == 23
    assert gaps(times) == {timedelta(hours=1)}


@pytest.mark.parametrize(
    ("zone", "day"), [(BERLIN, (2026, 3, 29)), (NEW_YORK, (2026, 3, 8)), (LORD_HOWE, (2026, 10, 4))]
)
def test_quarter_hourly_job_keeps_a_15_minute_cadence_through_spring_forward(zone, day) -> None:
    times = fire_times_on(CronSchedule.parse("*/15 * * * *", zone), zone, *day)
    assert gaps(times) == {timedelta(minutes=15)}


def test_hourly_job_at_half_past_gets_no_extra_run_in_the_gap() -> None:
    times = CronSchedule.parse("30 * * * *", BERLIN).next_times(local(BERLIN, 2026, 3, 29, 1), 3)
    assert times == [
        local(BERLIN, 2026, 3, 29, 1, 30),
        local(BERLIN, 2026, 3, 29, 3, 30),
        local(BERLIN, 2026, 3, 29, 4, 30),
    ]


def test_daily_job_asked_from_inside_the_day_after_the_gap_moves_to_the_next_day() -> None:
    schedule = CronSchedule.parse("30 2 * * *", BERLIN)
    assert schedule.next_after(local(BERLIN, 2026, 3, 29, 3)) == local(BERLIN, 2026, 3, 30, 2, 30)


# --- DST: fall back ----------------------------------------------------------------------------------------

FALL_BACK = [  # zone, overlap day, a wall time inside the repeated hour, its first occurrence
    pytest.param(BERLIN, (2026, 10, 25), "30 2 * * *", local(BERLIN, 2026, 10, 25, 2, 30), id="berlin"),
    pytest.param(NEW_YORK, (2026, 11, 1), "30 1 * * *", local(NEW_YORK, 2026, 11, 1, 1, 30), id="new-york"),
    pytest.param(LORD_HOWE, (2026, 4, 5), "45 1 * * *", local(LORD_HOWE, 2026, 4, 5, 1, 45), id="lord-howe"),
]


@pytest.mark.parametrize(("zone", "day", "cron", "first"), FALL_BACK)
def test_daily_job_in_the_fall_back_overlap_runs_once_at_the_first_occurrence(zone, day, cron, first) -> None:
    assert fire_times_on(CronSchedule.parse(cron, zone), zone, *day) == [first]


@pytest.mark.parametrize(("zone", "day", "cron", "first"), FALL_BACK)
def test_daily_job_does_not_fire_again_in_the_second_pass_after_firing(zone, day, cron, first) -> None:
    following = CronSchedule.parse(cron, zone).next_after(first)
    assert following - first > timedelta(hours=23)


@pytest.mark.parametrize(("zone", "day"), [(BERLIN, (2026, 10, 25)), (NEW_YORK, (2026, 11, 1))])
def test_hourly_job_fires_in_both_passes_of_the_repeated_hour(zone: str, day: tuple[int, int, int]) -> None:
    times = fire_times_on(CronSchedule.parse("0 * * * *", zone), zone, *day)
    assert len(times) == 25
    assert gaps(times) == {timedelta(hours=1)}


@pytest.mark.parametrize(
    ("zone", "day"), [(BERLIN, (2026, 10, 25)), (NEW_YORK, (2026, 11, 1)), (LORD_HOWE, (2026, 4, 5))]
)
def test_quarter_hourly_job_keeps_a_15_minute_cadence_through_fall_back(zone, day) -> None:
    times = fire_times_on(CronSchedule.parse("*/15 * * * *", zone), zone, *day)
    assert gaps(times) == {timedelta(minutes=15)}


def test_quarter_hourly_job_asked_from_the_first_pass_continues_into_the_second_pass() -> None:
    schedule = CronSchedule.parse("*/15 * * * *", BERLIN)
    after = local(BERLIN, 2026, 10, 25, 2, 50)
    assert schedule.next_times(after, 2) == [
        local(BERLIN, 2026, 10, 25, 2, fold=1),
        local(BERLIN, 2026, 10, 25, 2, 15, fold=1),
    ]


def test_lord_howe_hourly_job_fires_once_on_each_wall_clock_hour_of_the_fall_back_day() -> None:
    times = fire_times_on(CronSchedule.parse("@hourly", LORD_HOWE), LORD_HOWE, 2026, 4, 5)
    assert [t.astimezone(ZoneInfo(LORD_HOWE)).hour for t in times] == list(range(24))


# Clock-cadence schedules fire exactly when the local wall clock shows a matching time; check every UTC minute.
CLOCK_CADENCE = [
    ("*/15 * * * *", lambda wall: wall.minute % 15 == 0),
    ("0 * * * *", lambda wall: wall.minute == 0),
    ("30 * * * *", lambda wall: wall.minute == 30),
    ("*/7 1-3 * * *", lambda wall: wall.minute % 7 == 0 and 1 <= wall.hour <= 3),
    ("*/10 0 * * *", lambda wall: wall.minute % 10 == 0 and wall.hour == 0),
]
TRANSITION_DAYS = [
    (BERLIN, utc(2026, 3, 28, 12)),
    (BERLIN, utc(2026, 10, 24, 12)),
    (NEW_YORK, utc(2026, 3, 7, 18)),
    (NEW_YORK, utc(2026, 10, 31, 18)),
    (LORD_HOWE, utc(2026, 4, 4)),
    (LORD_HOWE, utc(2026, 10, 3)),
    ("America/Santiago", utc(2026, 4, 4, 12)),
    ("America/Havana", utc(2026, 3, 7, 12)),
]


@pytest.mark.parametrize(("zone", "start"), TRANSITION_DAYS)
@pytest.mark.parametrize(("cron", "shows_match"), CLOCK_CADENCE, ids=[c for c, _ in CLOCK_CADENCE])
def test_clock_cadence_job_fires_exactly_when_the_wall_clock_matches(
    zone: str, start: datetime, cron: str, shows_match: Callable[[datetime], bool]
) -> None:
    minutes = [start + timedelta(minutes=i) for i in range(1, 36 * 60)]
    expected = [t for t in minutes if shows_match(t.astimezone(ZoneInfo(zone)))]
    times = CronSchedule.parse(cron, zone).next_times(start, len(expected) + 1)
    assert times[:-1] == expected


# --- next_after and next_times -----------------------------------------------------------------------------


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK, LORD_HOWE, "America/Santiago", "America/Havana", "UTC"])
@pytest.mark.parametrize("cron", ["*/15 * * * *", "30 2 * * *", "45 1 * * *", "0 * * * *", "*/5 0-3 * * *"])
def test_a_year_of_fire_times_is_strictly_increasing_aware_utc(zone: str, cron: str) -> None:
    schedule = CronSchedule.parse(cron, zone)
    times = [schedule.next_after(utc(2026, 1, 1))]
    while times[-1] < utc(2027, 1, 1):
        times.append(schedule.next_after(times[-1]))
    assert all(t.tzinfo is UTC for t in times)
    assert all(earlier < later for earlier, later in pairwise(times))
    assert schedule.next_times(utc(2026, 1, 1), len(times)) == times


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK, LORD_HOWE])
@pytest.mark.parametrize("cron", ["*/15 * * * *", "30 2 * * *", "45 1 * * *", "0 * * * *"])
def test_next_after_any_instant_between_two_fire_times_is_the_later_one(zone: str, cron: str) -> None:
    schedule = CronSchedule.parse(cron, zone)
    times = schedule.next_times(utc(2026, 1, 1), 366 if cron.split()[1].isdigit() else 30_000)
    assert all(schedule.next_after(a + (b - a) / 2) == b for a, b in pairwise(times))


def test_next_after_a_fire_time_is_the_following_fire_time() -> None:
    assert CronSchedule.parse("0 9 * * *").next_after(utc(2026, 6, 1, 9)) == utc(2026, 6, 2, 9)


def test_next_after_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        CronSchedule.parse("0 9 * * *").next_after(datetime(2026, 6, 1))


def test_next_after_accepts_an_aware_non_utc_datetime_and_answers_in_utc() -> None:
    result = CronSchedule.parse("0 9 * * *").next_after(datetime(2026, 6, 1, 10, tzinfo=ZoneInfo(BERLIN)))
    assert result == utc(2026, 6, 1, 9)
    assert result.tzinfo is UTC


def test_next_times_defaults_to_five() -> None:
    assert len(CronSchedule.parse("@hourly").next_times(utc(2026, 1, 1))) == 5


@pytest.mark.parametrize(
    "cron",
    [
        "*/15 * * * *",
        "5 4 * * sun",
        "0 0 1,15 * 3",
        "0 22 * * 1-5",
        "23 0-20/2 * * *",
        "0 0 29 2 *",
        "15 14 1 * *",
        "0 9 1-7 * 1",
        "*/7 * * JAN,jul *",
        "@weekly",
    ],
)
def test_next_times_in_utc_agree_with_croniter(cron: str) -> None:
    start = utc(2026, 1, 1, 0, 3)
    iterator = croniter(ALIASES.get(cron, cron), start)
    assert CronSchedule.parse(cron).next_times(start, 200) == [iterator.get_next(datetime) for _ in range(200)]


# --- plan_due_runs -----------------------------------------------------------------------------------------

HOURLY = CronSchedule.parse("0 * * * *")


def test_nothing_is_due_before_next_run_at() -> None:
    assert plan_due_runs(HOURLY, utc(2026, 6, 1, 10), utc(2026, 6, 1, 9, 59)) == DueRuns([], 0, utc(2026, 6, 1, 10))


def test_fire_time_within_grace_runs_on_time() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 4))
    assert due == DueRuns([utc(2026, 6, 1, 10)], 0, utc(2026, 6, 1, 11))


def test_now_exactly_at_a_fire_time_runs_it_and_moves_past_it() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 10), utc(2026, 6, 1, 10))
    assert due == DueRuns([utc(2026, 6, 1, 10)], 0, utc(2026, 6, 1, 11))


def test_fire_time_exactly_grace_old_still_runs() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 5))
    assert due.fire_times == [utc(2026, 6, 1, 10)]


def test_skip_policy_drops_misfires_and_counts_them() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 7), utc(2026, 6, 1, 10, 30), policy="skip")
    assert due == DueRuns([], 4, utc(2026, 6, 1, 11))


def test_skip_policy_still_runs_the_on_time_fire_time() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 7), utc(2026, 6, 1, 10, 2), policy="skip")
    assert due == DueRuns([utc(2026, 6, 1, 10)], 3, utc(2026, 6, 1, 11))


def test_run_once_policy_runs_only_the_latest_misfire() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 7), utc(2026, 6, 1, 10, 30), policy="run_once")
    assert due == DueRuns([utc(2026, 6, 1, 10)], 3, utc(2026, 6, 1, 11))


def test_run_once_catch_up_runs_before_the_on_time_run() -> None:
    due = plan_due_runs(HOURLY, utc(2026, 6, 1, 7), utc(2026, 6, 1, 10, 2), policy="run_once")
    assert due == DueRuns([utc(2026, 6, 1, 9), utc(2026, 6, 1, 10)], 2, utc(2026, 6, 1, 11))


def test_next_run_at_moves_to_the_first_fire_time_strictly_after_now() -> None:
    due = plan_due_runs(CronSchedule.parse("*/15 * * * *"), utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 59, 59))
    assert due.next_run_at == utc(2026, 6, 1, 10)


def test_year_long_outage_of_an_every_minute_job_is_counted_exactly() -> None:
    due = plan_due_runs(CronSchedule.parse("* * * * *"), utc(2025, 1, 1), utc(2026, 1, 1), policy="run_once")
    assert due.skipped == 365 * 24 * 60 - 5 - 1  # all but the on-time runs and the one catch-up run
    assert due.fire_times == [utc(2025, 12, 31, 23, 54 + i) for i in range(6)] + [utc(2026, 1, 1)]


def test_year_long_outage_does_not_walk_every_missed_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = 0
    resolve = CronSchedule._resolve

    def counting_resolve(self: CronSchedule, wall: datetime) -> tuple[datetime | None, datetime | None]:
        nonlocal resolved
        resolved += 1
        return resolve(self, wall)

    monkeypatch.setattr(CronSchedule, "_resolve", counting_resolve)
    plan_due_runs(CronSchedule.parse("* * * * *"), utc(2025, 1, 1), utc(2026, 1, 1), max_catch_up_scan=1000)
    assert resolved < 5000


@pytest.mark.parametrize("policy", ["skip", "run_once"])
@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK, LORD_HOWE, "America/Santiago", "America/Havana"])
@pytest.mark.parametrize("cron", ["*/15 * * * *", "30 2 * * *", "*/10 0-1 * * *", "0 0 * * 1-5"])
def test_bounded_catch_up_scan_matches_a_full_scan_across_dst(cron: str, zone: str, policy: str) -> None:
    schedule, start, now = CronSchedule.parse(cron, zone), utc(2026, 1, 1), utc(2026, 12, 1, 0, 1)
    bounded = plan_due_runs(schedule, start, now, policy, max_catch_up_scan=3)
    assert bounded == plan_due_runs(schedule, start, now, policy, max_catch_up_scan=10**9)


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 9 * * *", "0 0 * * *"])
def test_bounded_catch_up_scan_matches_a_full_scan_when_a_whole_local_day_is_skipped(cron: str) -> None:
    schedule, start, now = CronSchedule.parse(cron, "Pacific/Apia"), utc(2011, 12, 1), utc(2012, 1, 10)  # no 30 Dec
    bounded = plan_due_runs(schedule, start, now, "run_once", max_catch_up_scan=2)
    assert bounded == plan_due_runs(schedule, start, now, "run_once", max_catch_up_scan=10**9)


def test_misfire_policy_validation_accepts_the_two_policies() -> None:
    assert [validate_misfire_policy(p) for p in ("skip", "run_once")] == ["skip", "run_once"]


def test_unknown_misfire_policy_is_rejected_naming_the_field() -> None:
    with pytest.raises(ScheduleError, match=re.escape("misfire_policy: must be 'skip' or 'run_once', got 'all'")):
        plan_due_runs(HOURLY, utc(2026, 6, 1, 7), utc(2026, 6, 1, 10), policy="all")


def test_plan_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan_due_runs(HOURLY, utc(2026, 6, 1, 7), datetime(2026, 6, 1, 10))


# --- describe ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "zone", "reading"),
    [
        ("30 9 * * 1-5", BERLIN, "at 09:30 on Monday to Friday (Europe/Berlin)"),
        ("* * * * *", "UTC", "every minute (UTC)"),
        ("*/15 * * * *", "UTC", "every 15 minutes (UTC)"),
        ("@hourly", "UTC", "every hour (UTC)"),
        ("5 * * * *", "UTC", "every hour at minute 5 (UTC)"),
        ("0 */6 * * *", "UTC", "every 6 hours (UTC)"),
        ("@daily", NEW_YORK, "at 00:00 every day (America/New_York)"),
        ("0 9,17 * * *", "UTC", "at 09:00 and 17:00 every day (UTC)"),
        ("0 8 * * mon,wed,fri", "UTC", "at 08:00 on Monday, Wednesday and Friday (UTC)"),
        ("0 12 * * 0,6", "UTC", "at 12:00 on Saturday and Sunday (UTC)"),
        ("@weekly", "UTC", "at 00:00 on Sunday (UTC)"),
        ("@monthly", "UTC", "at 00:00 on day 1 of the month (UTC)"),
        ("0 6 1,15 * *", "UTC", "at 06:00 on days 1 and 15 of the month (UTC)"),
        ("@yearly", "UTC", "at 00:00 on 1 January (UTC)"),
        ("0 0 * 6-8 *", "UTC", "at 00:00 every day in June to August (UTC)"),
        ("*/10 9-17 * * 1-5", "UTC", "every 10 minutes from 09:00 to 17:50 on Monday to Friday (UTC)"),
        ("30 9-17 * * *", "UTC", "every hour from 09:30 to 17:30 (UTC)"),
        ("0 0 1 * 1", "UTC", "at 00:00 on day 1 of the month or on Monday (UTC)"),
    ],
)
def test_describe_reads_common_shapes(cron: str, zone: str, reading: str) -> None:
    assert CronSchedule.parse(cron, zone).describe() == reading


def test_describe_falls_back_to_the_expression() -> None:
    assert CronSchedule.parse("7,19,31 */3 * * *").describe() == "on cron schedule '7,19,31 */3 * * *' (UTC)"
