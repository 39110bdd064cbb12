"""`odoo.search_read` and `odoo.create`: Odoo's external API over JSON-RPC (`/jsonrpc`, `execute_kw`).

Every call logs in first (service `common`, method `login`) for the user id, then calls the model
method through service `object`. Odoo reports failures as HTTP 200 with a JSON-RPC `error`, whose
`data.name` is the Python exception's name; that name decides whether a retry can help.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.json_api import credential_of, joined_url, json_object, post_json
from shared.nodes.registry import NodeType
from shared.nodes.service_call import MESSAGE_CHARS, ServiceReply

if TYPE_CHECKING:
    from shared.engine.context import NodeContext


def _read_error(reply: ServiceReply) -> str | None:
    return _error_text(reply.json())


def _error_text(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    message = data.get("message") or error.get("message") or "unknown error"
    return f"{message} ({data['name']})" if data.get("name") else str(message)


TRANSIENT_ERRORS = ("SerializationFailure", "OperationalError", "LockNotAvailable", "DeadlockDetected")
"""Exception names (the last part of `data.name`) of database contention and outages: worth a retry.
Everything else Odoo raises (AccessDenied, AccessError, ValidationError, UserError, MissingError,
ValueError, ...) fails the same way again."""

MODEL_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
_request_ids = itertools.count(1)


class _OdooConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str = Field(
        description="Name of a stored odoo credential (server URL, database, login, API key).",
        examples=["odoo-main"],
    )
    model: str = Field(
        pattern=MODEL_PATTERN, max_length=128, description="The Odoo model's technical name.", examples=["res.partner"]
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit of each request; capped by the server's limit.", examples=[20]
    )


class SearchReadConfig(_OdooConfig):
    model_config = ConfigDict(title="odoo.search_read")

    domain: list[Any] = Field(
        default_factory=list,
        description="An Odoo search domain: a list of [field, operator, value] conditions (and '|', '&', '!').",
        examples=[[["is_company", "=", True], ["country_id.code", "=", "DE"]]],
    )
    fields: list[str] = Field(
        default_factory=list,
        description="Fields to read; every field when empty (slow on large models, so name them).",
        examples=[["name", "email", "phone"]],
    )
    limit: int = Field(default=100, ge=1, le=10_000, description="At most this many records.", examples=[50])
    offset: int = Field(default=0, ge=0, description="Skip this many matching records first.", examples=[100])
    order: str | None = Field(
        default=None,
        max_length=256,
        pattern=r"^[A-Za-z0-9_., ]+$",
        description="Sort order, e.g. 'create_date desc, id'.",
        examples=["name asc"],
    )


class CreateConfig(_OdooConfig):
    model_config = ConfigDict(title="odoo.create")

    values: dict[str, Any] | list[dict[str, Any]] = Field(
        description="Field values of the record to create, or a list of them to create several.",
        examples=[{"name": "{{ input.company }}", "email": "{{ input.email }}", "is_company": True}],
    )


async def run_search_read(ctx: NodeContext, config: SearchReadConfig) -> dict[str, Any]:
    """Find Odoo records matching a domain and read their fields; returns them in `records`.

    Logs in with the credential, then calls `search_read` on the model through `execute_kw`. Access
    and validation errors fail the step with Odoo's message; database contention, rate limits and
    server outages are retried when the node has retries.
    """
    kwargs: dict[str, Any] = {"fields": config.fields, "limit": config.limit, "offset": config.offset}
    if config.order:
        kwargs["order"] = config.order
    records = await _execute_kw(ctx, config, "search_read", [config.domain], kwargs)
    if not isinstance(records, list):
        raise NodeError(f"Odoo: {config.model}.search_read returned {type(records).__name__}, not a list")
    return {"records": records, "count": len(records)}


async def run_create(ctx: NodeContext, config: CreateConfig) -> dict[str, Any]:
    """Create one Odoo record (or several, from a list of values); returns the new ids in `ids` and the
    first in `id`.

    Odoo takes no idempotency key: a retry after a lost response can create the record twice, so give
    this step no retries, or look the record up with odoo.search_read first, where that matters.
    """
    created = await _execute_kw(ctx, config, "create", [config.values], {})
    ids = created if isinstance(created, list) else [created]
    if not all(isinstance(record_id, int) for record_id in ids):
        raise NodeError(f"Odoo: {config.model}.create returned {str(created)[:MESSAGE_CHARS]}, not record ids")
    return {"ids": ids, "id": ids[0] if ids else None}


async def _execute_kw(
    ctx: NodeContext, config: _OdooConfig, method: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    values = await credential_of(ctx, config.credential, "odoo")
    database, password = values["database"], values["password"]
    uid = await _rpc(ctx, values, config, "common", "login", [database, values["username"], password])
    if not isinstance(uid, int) or isinstance(uid, bool):
        raise NodeError(
            f"Odoo refused the login of {values['username']!r} to database {database!r}: check the credential",
            retryable=False,
        )
    arguments = [database, uid, password, config.model, method, args, kwargs]
    return await _rpc(ctx, values, config, "object", "execute_kw", arguments)


async def _rpc(
    ctx: NodeContext, values: dict[str, Any], config: _OdooConfig, service: str, method: str, args: list[Any]
) -> Any:
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": service, "method": method, "args": args},
        "id": next(_request_ids),
    }
    url = joined_url(values["url"], "/jsonrpc")
    answer = await post_json(ctx, "Odoo", url, body, read_error=_read_error, timeout_s=config.timeout_s)
    reply = json_object(answer, "Odoo", f"{service}.{method}")
    if "error" in reply:
        name = str((reply["error"].get("data") or {}).get("name", "")) if isinstance(reply["error"], dict) else ""
        transient = name.rsplit(".", 1)[-1] in TRANSIENT_ERRORS
        where = f"{config.model}.{args[4]}" if method == "execute_kw" else f"{service}.{method}"
        raise NodeError(f"Odoo: {where} failed: {(_error_text(reply) or '')[:MESSAGE_CHARS]}", retryable=transient)
    return reply.get("result")


NODE_TYPES = (
    NodeType(name="odoo.search_read", config_model=SearchReadConfig, run=run_search_read, cost=1),
    NodeType(name="odoo.create", config_model=CreateConfig, run=run_create, cost=1, side_effects=True),
)
