"""A poison message on the light queue ends in its dead-letter queue after `maxReceiveCount`
receives: the handler reports it failed each time (partial batch failure), so the poller never
deletes it, and SQS's redrive policy (moto in server mode) moves it aside."""

from __future__ import annotations

import json
import uuid

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.support.moto_server import REGION
from tests.worker.conftest import chain, execution, message, queued
from tests.worker.test_light_lambda import FakeContext, handler_environment
from worker_image import light_lambda

__all__ = ["handler_environment"]

MAX_RECEIVES = 2


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "messageId": entry["MessageId"],
                "receiptHandle": entry["ReceiptHandle"],
                "body": entry["Body"],
                "attributes": entry.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": entry["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for entry in messages
        ]
    }


def poll_once(sqs, queue_url: str, queue_arn: str) -> list[str]:
    """What Lambda's poller does: receive, invoke, delete what the handler did not report failed (an
    invocation that raises fails the whole batch). Visibility timeout 0: a failed message is
    visible again at once."""
    got = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    ).get("Messages", [])
    if not got:
        return []
    try:
        response = light_lambda.handler(sqs_event(got, queue_arn), FakeContext())
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    except BatchProcessingError:  # Powertools raises when every record failed: Lambda keeps them all
        failed = {entry["MessageId"] for entry in got}
    for entry in got:
        if entry["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=entry["ReceiptHandle"])
    return [entry["Body"] for entry in got]


def test_a_poison_message_ends_in_the_dlq_and_a_good_one_runs(queues, pg_engine, server, handler_environment) -> None:
    endpoint = queues[0]
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    suffix = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"light-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    light_url = sqs.create_queue(QueueName=f"light-{suffix}", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    light_arn = sqs.get_queue_attributes(QueueUrl=light_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    good = queued(pg_engine, chain(server, "a"), lane="light")
    sqs.send_message(QueueUrl=light_url, MessageBody='{"execution_id": "not-a-uuid"}')
    sqs.send_message(QueueUrl=light_url, MessageBody=message(good))

    seen = [poll_once(sqs, light_url, light_arn) for _ in range(MAX_RECEIVES + 2)]

    poison_receives = sum(body.count('{"execution_id": "not-a-uuid"}') for batch in seen for body in batch)
    assert poison_receives == MAX_RECEIVES
    assert sqs.receive_message(QueueUrl=light_url, MaxNumberOfMessages=10).get("Messages") is None
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [entry["Body"] for entry in dead] == ['{"execution_id": "not-a-uuid"}']
    assert execution(pg_engine, good).status == "succeeded"
