"""A workflow's cron schedule in and out. Cron and time zone are checked by `shared.scheduling`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.workflows import Text


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: Annotated[
        Text,
        Field(max_length=120, description="5-field cron or an alias like @daily", examples=["0 9 * * 1-5"]),
    ]
    timezone: Annotated[Text, Field(max_length=64, description="IANA time zone", examples=["Europe/Berlin"])] = "UTC"
    misfire_policy: Literal["skip", "run_once"] = Field(
        default="skip", description="after an outage: skip missed runs, or run the latest once"
    )
    enabled: bool = True


class ScheduleOut(BaseModel):
    cron: str
    timezone: str
    misfire_policy: str
    enabled: bool
    next_run_at: datetime | None = Field(description="when it fires next (UTC); null while disabled")
    next_fire_times: list[datetime] = Field(description="the next 5 fire times after now (UTC)")
    description: str = Field(description='a plain-language reading, e.g. "at 09:00 on Monday to Friday"')
