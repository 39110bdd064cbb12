"""One router module per resource; `ROUTER_MODULES` is the order they are mounted in, which is
also the order a request's path is matched in (one route after another): the busiest first.
No two routes of different modules match the same method and path, so the order changes nothing
else."""

ROUTER_MODULES = (
    "api.routes.workflows",
    "api.routes.executions",
    "api.routes.events",
    "api.routes.webhooks",
    "api.routes.runs",
    "api.routes.health",
    "api.routes.me",
    "api.routes.auth",
    "api.routes.api_keys",
    "api.routes.node_types",
    "api.routes.artifacts",
    "api.routes.stats",
    "api.routes.schedules",
    "api.routes.templates",
    "api.routes.credentials",
    "api.routes.audit",
    "api.routes.me_data",
)
