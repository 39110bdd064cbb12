"""The light lane's Lambda handler (`worker_image.light_lambda.handler`) on the light SQS queue.

A few lines around `shared.workers.lambda_light`: the worker (settings, engine, dispatcher) is
built on the first invocation and reused by the warm container, never at import.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

import worker_image.lean  # noqa: F401  (first: see its docstring)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.workers.lambda_light import LightLaneWorker

logger = Logger(service="flowbuilder-light-worker")


@lru_cache(maxsize=1)
def light_lane_worker() -> LightLaneWorker:
    from shared.db.session import create_db_engine
    from shared.settings import get_settings
    from shared.workers.lambda_light import LightLaneWorker
    from shared.workers.queues import dispatcher_from_settings

    settings = get_settings()
    return LightLaneWorker(
        create_db_engine(settings.resolved_database_url), settings, dispatcher_from_settings(settings)
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return light_lane_worker().handle(event, context)
