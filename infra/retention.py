"""CloudWatch log retention from a number of days (the values `log_retention_days` accepts)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

_NAMES = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR",
}  # fmt: skip


def log_retention(days: int) -> logs.RetentionDays:
    return logs.RetentionDays[_NAMES[days]]
