"""The SQS dispatcher against moto in server mode: lanes pick the queue, ten per call, failed
entries sent again."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from shared.queue import QueueMessage
from shared.queue.sqs import SqsDispatcher
from tests.support.moto_server import REGION


@pytest.fixture
def sqs(aws_env, moto_endpoint: str):
    return boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def queues(sqs) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {lane: sqs.create_queue(QueueName=f"{lane}-{suffix}")["QueueUrl"] for lane in ("light", "browser")}


@pytest.fixture
def dispatcher(sqs, queues: dict[str, str]) -> SqsDispatcher:
    return SqsDispatcher(queues["light"], queues["browser"], client=sqs, sleep=lambda _: None)


def receive_all(sqs, queue_url: str) -> list[dict]:
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return bodies
        bodies += [json.loads(message["Body"]) for message in got["Messages"]]


def messages(count: int, lane: str = "light") -> list[QueueMessage]:
    return [QueueMessage(uuid.uuid4(), 1, lane) for _ in range(count)]


def count_batch_calls(client) -> list[int]:
    sizes: list[int] = []
    client.meta.events.register(
        "before-parameter-build.sqs.SendMessageBatch", lambda params, **_: sizes.append(len(params["Entries"]))
    )
    return sizes


def test_each_message_goes_to_its_lanes_queue(sqs, queues, dispatcher):
    light, browser = messages(3, "light"), messages(2, "browser")

    result = dispatcher.dispatch([light[0], browser[0], light[1], browser[1], light[2]])

    assert len(result.sent) == 5 and result.failed == []
    assert sorted(b["execution_id"] for b in receive_all(sqs, queues["light"])) == sorted(
        str(m.execution_id) for m in light
    )
    assert sorted(b["execution_id"] for b in receive_all(sqs, queues["browser"])) == sorted(
        str(m.execution_id) for m in browser
    )


def test_the_body_is_the_documented_message(sqs, queues, dispatcher):
    message = QueueMessage(uuid.uuid4(), 3, "light")

    dispatcher.dispatch([message])

    assert receive_all(sqs, queues["light"]) == [{"execution_id": str(message.execution_id), "attempt": 3}]


def test_messages_are_sent_ten_per_call(sqs, queues, dispatcher):
    sizes = count_batch_calls(sqs)

    result = dispatcher.dispatch(messages(25, "light") + messages(3, "browser"))

    assert len(result.sent) == 28
    assert sorted(sizes) == [3, 5, 10, 10]


def test_the_client_is_created_lazily_and_reused(aws_env, moto_endpoint, queues):
    dispatcher = SqsDispatcher(queues["light"], queues["browser"], region=REGION, endpoint_url=moto_endpoint)
    assert dispatcher._client is None

    dispatcher.dispatch(messages(1))
    first = dispatcher.client
    dispatcher.dispatch(messages(1))

    assert first is dispatcher.client


class FlakyEntries:
    """Wraps a real client: the first `times` calls report the listed entries as Failed (moto
    never fails single entries) and send only the others."""

    def __init__(self, client, failing_ids: set[str], times: int) -> None:
        self.client, self.failing_ids, self.times = client, failing_ids, times
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        self.calls.append([entry["Id"] for entry in Entries])
        if len(self.calls) > self.times:
            return self.client.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        ok = [entry for entry in Entries if entry["Id"] not in self.failing_ids]
        response = self.client.send_message_batch(QueueUrl=QueueUrl, Entries=ok) if ok else {"Successful": []}
        failed = [
            {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"}
            for entry in Entries
            if entry["Id"] in self.failing_ids
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}


def test_failed_entries_are_sent_again(sqs, queues):
    flaky = FlakyEntries(sqs, {"1", "4"}, times=2)
    dispatcher = SqsDispatcher(queues["light"], queues["browser"], client=flaky, retries=3, sleep=lambda _: None)
    batch = messages(6)

    result = dispatcher.dispatch(batch)

    assert len(result.sent) == 6 and result.failed == []
    assert flaky.calls == [["0", "1", "2", "3", "4", "5"], ["1", "4"], ["1", "4"]]
    assert len(receive_all(sqs, queues["light"])) == 6


def test_entries_failing_past_the_retries_are_reported_failed(sqs, queues):
    flaky = FlakyEntries(sqs, {"2"}, times=99)
    slept: list[float] = []
    dispatcher = SqsDispatcher(queues["light"], queues["browser"], client=flaky, retries=2, sleep=slept.append)
    batch = messages(4)

    result = dispatcher.dispatch(batch)

    assert result.failed == [batch[2]]
    assert len(result.sent) == 3
    assert len(flaky.calls) == 3
    assert slept == [0.05, 0.1]


class Broken:
    def send_message_batch(self, **_):
        raise ConnectionError("queue unreachable")


def test_a_call_that_raises_fails_its_batch(queues):
    dispatcher = SqsDispatcher(queues["light"], queues["browser"], client=Broken(), sleep=lambda _: None)
    batch = messages(12)

    result = dispatcher.dispatch(batch)

    assert result.sent == [] and result.failed == batch
