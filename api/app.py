"""The FastAPI app. `create_app(settings)` builds it; nothing here touches the database at import."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from api.errors import ErrorBody, install_error_handlers
from api.services import AppServices
from shared.settings import Settings, get_settings

ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 415, 422, 429)}


def create_app(settings: Settings | None = None, services: AppServices | None = None) -> FastAPI:
    from api.routes import ROUTER_MODULES

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
    for module in ROUTER_MODULES:
        app.include_router(importlib.import_module(module).router, prefix="/api")
    return app
