"""The built web app (`web/dist`) served by the local API at `/`, and its runtime `/config.json`.

Added as plain Starlette routes after the API's routers, so it never shadows `/api` (an unknown
`/api/...` path still answers the API's JSON 404, a wrong method its 405) and the API's per-route
dependencies (rate limits) do not count page loads. Client-side routes (`/workflows/<id>`, ...)
fall back to `index.html`.

In local mode `/config.json` carries the dev API key so the browser signs in by itself, but only to
a loopback client that asked for a loopback host from the same site: another machine, a page on
another origin, or a DNS-rebinding name pointed at 127.0.0.1 gets no key.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from api.errors import error_response

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.settings import Settings

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
NO_STORE = {"Cache-Control": "no-store"}


def mount_web_app(app: FastAPI, settings: Settings, dist: Path | None = None) -> bool:
    """Serve the app (`WEB_DIST` unless `dist`) when it has been built; returns whether it was
    mounted. Call after the API's routers: the catch-all route comes last, so it never takes a
    request an API route matches."""
    dist = dist or WEB_DIST
    if not (dist / "index.html").is_file():
        return False
    index = dist / "index.html"
    root = dist.resolve()

    async def config(request: Request) -> JSONResponse:
        body = {
            "apiBase": "/api",
            "mode": settings.mode,
            "clerkPublishableKey": getattr(settings, "clerk_publishable_key", None),
            "localApiKey": local_api_key(request, settings) if settings.mode == "local" else None,
        }
        return JSONResponse(body, headers=NO_STORE)

    async def page(request: Request) -> Response:
        path = request.path_params["path"]
        if path == "api" or path.startswith("api/"):
            return error_response(404, "not_found", "Not Found")
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    # Starlette routes, not API routes: the API's dependencies (rate limits) don't apply to page loads.
    app.add_route("/config.json", config, methods=["GET"], include_in_schema=False)
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="web-assets")
    app.add_route("/{path:path}", page, methods=["GET", "HEAD"], include_in_schema=False)
    return True


def local_api_key(request: Request, settings: Settings) -> str | None:
    """The dev key from `<data_dir>/dev-api-key` (written by `flowbuilder dev`) for a same-site
    loopback browser; None for anyone else."""
    if not _is_loopback(request.client.host if request.client else None):
        return None
    if request.headers.get("x-forwarded-for"):
        return None
    if _host_name(request.headers.get("host", "")).lower() not in LOOPBACK_HOSTS:
        return None
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return None
    from shared.local.dev_server import DEV_KEY_FILE

    try:
        key = (settings.data_dir / DEV_KEY_FILE).read_text().strip()
    except OSError:
        return None
    return key or None


def _host_name(header: str) -> str:
    """`127.0.0.1:8000` -> `127.0.0.1`, `[::1]:8000` -> `[::1]`."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
