"""One router module per resource; `ROUTER_MODULES` is the order they are mounted in."""

ROUTER_MODULES = (
    "api.routes.health",
    "api.routes.me",
    "api.routes.auth",
    "api.routes.api_keys",
    "api.routes.node_types",
    "api.routes.runs",
    "api.routes.webhooks",
    "api.routes.executions",
    "api.routes.events",
    "api.routes.artifacts",
    "api.routes.stats",
    "api.routes.workflows",
    "api.routes.schedules",
    "api.routes.templates",
    "api.routes.credentials",
    "api.routes.audit",
    "api.routes.me_data",
)
