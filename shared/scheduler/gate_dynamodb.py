"""The "next wake" gate in aws mode: one DynamoDB item.

Why DynamoDB rather than an SSM parameter: the gate must be lowered atomically by concurrent
writers (API requests, the tick, workers), and SSM's PutParameter has no conditional write, so two
writers would race read-compare-write and the later, larger value could win. DynamoDB's UpdateItem
takes a ConditionExpression, which makes "only if earlier" one atomic request. An on-demand table
costs nothing while idle (requests and a few bytes of storage are billed, nothing per hour), so the
every-minute tick that only reads the item keeps the database asleep for fractions of a cent a month.

The item (partition key `id`) holds `next_wake` and `lowered`, both epoch microseconds (numbers,
so conditions compare them as numbers): the instant, and the earliest value lowered since the last
`hold`, exactly like the two lines of `FileGate`. A missing `next_wake` is "unknown".

- `lower` writes `lowered` first, then `next_wake`, each with a condition that only moves it
  earlier. That order matters for `release`: see there.
- `release` reads `lowered` and writes `min(to, lowered)` with `lowered` removed, on condition that
  `lowered` is still what it read; a `lower` that lands in between fails the condition and the
  release reads again. A `lower` whose `lowered` write comes after the release is followed by its
  `next_wake` write, which lowers the released value: nothing lowered is ever lost.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.scheduler.gate import _as_utc

ITEM_ID = "next-wake"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RELEASE_ATTEMPTS = 20


class DynamoDbGate:
    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        item_id: str = ITEM_ID,
    ) -> None:
        self.table, self.item_id = table, item_id
        self.region, self.endpoint_url = region, endpoint_url
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use and reused."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("dynamodb", region_name=self.region, endpoint_url=self.endpoint_url)
        return self._client

    def read(self) -> datetime | None:
        return _instant(self._item().get("next_wake"))

    def lower(self, to: datetime) -> None:
        value = _micros(to)
        self._update_if("lowered", value, "attribute_not_exists(lowered) OR lowered > :to")
        self._update_if("next_wake", value, "next_wake > :to")  # an unknown gate stays unknown

    def set(self, to: datetime | None) -> None:
        item: dict[str, Any] = {"id": {"S": self.item_id}}
        if to is not None:
            item["next_wake"] = {"N": str(_micros(to))}
        self.client.put_item(TableName=self.table, Item=item)

    def hold(self, until: datetime) -> None:
        self.set(until)

    def release(self, to: datetime) -> None:
        value = _micros(to)
        for _ in range(RELEASE_ATTEMPTS):
            lowered = self._item().get("lowered")
            wake = value if lowered is None else min(value, int(lowered["N"]))
            condition, values = "attribute_not_exists(lowered)", {":wake": {"N": str(wake)}}
            if lowered is not None:
                condition, values[":lowered"] = "lowered = :lowered", lowered
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=self._key(),
                    UpdateExpression="SET next_wake = :wake REMOVE lowered",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
                return
            except self.client.exceptions.ConditionalCheckFailedException:
                continue  # someone lowered meanwhile: read again
        raise RuntimeError(f"gate release lost {RELEASE_ATTEMPTS} races in a row")

    def _item(self) -> dict[str, Any]:
        return self.client.get_item(TableName=self.table, Key=self._key(), ConsistentRead=True).get("Item", {})

    def _update_if(self, attribute: str, value: int, condition: str) -> None:
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):  # already as early
            self.client.update_item(
                TableName=self.table,
                Key=self._key(),
                UpdateExpression=f"SET {attribute} = :to",
                ConditionExpression=condition,
                ExpressionAttributeValues={":to": {"N": str(value)}},
            )

    def _key(self) -> dict[str, Any]:
        return {"id": {"S": self.item_id}}


def _micros(value: datetime) -> int:
    delta = _as_utc(value) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _instant(attribute: dict[str, str] | None) -> datetime | None:
    if attribute is None or "N" not in attribute:
        return None
    return EPOCH + timedelta(microseconds=int(attribute["N"]))
