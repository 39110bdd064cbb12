"""The light lane's Lambda worker in-process on PostgreSQL: partial batch failures, duplicates, and
the deadline guard re-routing to the browser queue (SQS on a moto server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.queue.sqs import SqsDispatcher
from shared.settings import Settings, get_settings
from shared.workers.lambda_light import LightLaneWorker
from tests.support.http_server import Reply
from tests.support.moto_server import REGION
from tests.worker.conftest import calls, chain, execution, message, queued, receive
from worker_image import light_lambda


@dataclass
class FakeContext:
    """What Lambda passes a handler, with a chosen time left."""

    remaining_ms: int = 60_000
    function_name: str = "flowbuilder-light-worker"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:flowbuilder-light-worker"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {
                "messageId": f"message-{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:light",
                "awsRegion": REGION,
            }
            for index, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def handler_environment(monkeypatch, database_urls, tmp_path) -> Iterator[None]:
    for name in ("LIGHT_QUEUE_URL", "BROWSER_QUEUE_URL"):
        monkeypatch.delenv(f"FLOWBUILDER_{name}", raising=False)
    monkeypatch.setenv("FLOWBUILDER_DATABASE_URL", database_urls["postgresql"])
    monkeypatch.setenv("FLOWBUILDER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWBUILDER_EGRESS_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    light_lambda.light_lane_worker.cache_clear()
    yield
    light_lambda.light_lane_worker.cache_clear()
    get_settings.cache_clear()


def test_handler_reports_only_the_malformed_record(pg_engine, server, handler_environment) -> None:
    execution_id = queued(pg_engine, chain(server, "a"), lane="light")

    response = light_lambda.handler(sqs_event(message(execution_id), "not json"), FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert execution(pg_engine, execution_id).status == "succeeded"


def test_a_duplicate_record_is_processed_and_runs_nothing(pg_engine, server, handler_environment) -> None:
    execution_id = queued(pg_engine, chain(server, "a"), lane="light")
    unknown = message(uuid.uuid4())

    response = light_lambda.handler(sqs_event(message(execution_id), message(execution_id), unknown), FakeContext())

    assert response == {"batchItemFailures": []}
    assert calls(server, "a") == 1


def test_an_execution_past_the_deadline_moves_to_the_browser_queue(pg_engine, server, queues, tmp_path) -> None:
    endpoint, light_url, browser_url = queues
    server.route("/slow", Reply(delay_s=10))
    execution_id = queued(pg_engine, chain(server, "a", "slow"), lane="light")
    settings = Settings(
        data_dir=tmp_path / "data",
        egress_allow_private=True,
        worker_heartbeat_s=0.5,
        worker_lambda_safety_margin_s=1,
        worker_lambda_drain_s=1,
    )
    dispatcher = SqsDispatcher(light_url, browser_url, region=REGION, endpoint_url=endpoint)

    response = LightLaneWorker(pg_engine, settings, dispatcher).handle(
        sqs_event(message(execution_id)), FakeContext(remaining_ms=4000)
    )

    assert response == {"batchItemFailures": []}
    handed_back = execution(pg_engine, execution_id)
    assert (handed_back.status, handed_back.attempt, handed_back.lane) == ("queued", 2, "browser")
    assert handed_back.dispatched_at is not None
    assert receive(endpoint, browser_url) == [{"execution_id": str(execution_id), "attempt": 2}]
    assert receive(endpoint, light_url) == []
