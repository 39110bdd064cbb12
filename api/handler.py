"""The Lambda entry: Mangum around the app. Importing it opens no database connection and builds
nothing: the app (every router, and with them SQLAlchemy, the models and the engine's modules) is
built when the first event arrives, whole, so the OpenAPI it serves is always complete.

When Lambda initialises ahead of traffic (SnapStart, provisioned concurrency) the app is built
during init instead: that time is then off every request's path."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mangum import Mangum

from api.app import create_app

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

INITIALISED_AHEAD_OF_TRAFFIC = ("snap-start", "provisioned-concurrency")


class AppOnFirstEvent:
    """An ASGI app that builds the real one (`create_app()`) the first time it is called."""

    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    def build(self) -> ASGIApp:
        if self._app is None:
            self._app = create_app()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.build()(scope, receive, send)


app = AppOnFirstEvent()
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in INITIALISED_AHEAD_OF_TRAFFIC:
    app.build()
handler = Mangum(app, lifespan="off")
