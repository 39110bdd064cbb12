"""The FastAPI app. `create_app(settings)` builds it; nothing here touches the database at import.

Importing this module loads FastAPI and no more: the routers, and with them SQLAlchemy, the models
and the engine's modules, are imported by `create_app`, so `api.handler` stays cheap to import."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.errors import ErrorBody, install_error_handlers

if TYPE_CHECKING:
    from api.services import AppServices
    from shared.settings import Settings

ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (400, 401, 402, 403, 404, 409, 413, 415, 422, 429)}


def create_app(settings: Settings | None = None, services: AppServices | None = None) -> FastAPI:
    from api.ratelimit import install_rate_limits
    from api.routes import ROUTER_MODULES
    from api.routes.audit import install_audit
    from api.services import AppServices
    from shared.settings import get_settings

    settings = settings or get_settings()
    app = FastAPI(
        title="Flow Builder API",
        version="0.1.0",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.services = services or AppServices(settings)
    install_error_handlers(app)
    install_rate_limits(app)  # before the routers: the limit dependency applies to routes added after it
    install_audit(app)
    for module in ROUTER_MODULES:
        app.include_router(importlib.import_module(module).router, prefix="/api")
    if settings.mode == "local":
        from api.web import mount_web_app

        mount_web_app(app, settings)  # last: the app's catch-all must not shadow /api
    return app
