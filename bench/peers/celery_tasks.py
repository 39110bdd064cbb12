"""The Celery app and tasks bench/peers/celery_flow.py runs: Redis as broker and result backend."""

from __future__ import annotations

import os

from celery import Celery

BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/13")

app = Celery("bench", broker=BROKER, backend=BROKER)
app.conf.update(
    task_default_queue=os.environ.get("BENCH_CELERY_QUEUE", "bench"),
    result_expires=600,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
)


@app.task
def step(value: int) -> int:
    return value + 1


@app.task
def join(values: list[int]) -> int:
    return sum(values)
