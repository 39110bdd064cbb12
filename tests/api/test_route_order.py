"""Routers are mounted busiest first (`api/routes/__init__.py`). That is only safe while no request
can match routes of two different modules: then the order decides nothing but speed."""

from __future__ import annotations

import importlib
import re
from itertools import combinations

from starlette.routing import compile_path

from api.routes import ROUTER_MODULES

PARAMETER = re.compile(r"{[^}]+}")


def routes() -> list[tuple[str, str, str]]:
    """(module, method, full path template) of every route."""
    found = []
    for module in ROUTER_MODULES:
        for route in importlib.import_module(module).router.routes:
            found += [(module, method, "/api" + route.path) for method in route.methods]
    return found


def sample(template: str) -> str:
    return PARAMETER.sub("sample", template)


def test_no_request_matches_routes_of_two_modules():
    clashes = []
    for (module, method, path), (other_module, other_method, other_path) in combinations(routes(), 2):
        if module == other_module or method != other_method:
            continue
        pattern, other_pattern = compile_path(path)[0], compile_path(other_path)[0]
        if other_pattern.match(sample(path)) or pattern.match(sample(other_path)):
            clashes.append(f"{method} {path} ({module}) and {other_path} ({other_module})")
    assert clashes == []


def test_the_check_sees_a_clash():
    literal, parameter = compile_path("/api/workflows/import")[0], compile_path("/api/workflows/{workflow_id}")[0]

    assert parameter.match(sample("/api/workflows/import"))
    assert not literal.match(sample("/api/workflows/{workflow_id}"))


def test_every_router_module_is_mounted_once():
    import pkgutil

    import api.routes

    with_router = {
        f"api.routes.{info.name}"
        for info in pkgutil.iter_modules(api.routes.__path__)
        if hasattr(importlib.import_module(f"api.routes.{info.name}"), "router")
    }
    assert sorted(ROUTER_MODULES) == sorted(with_router)
