"""`postgres.query`: one parameterised SQL statement against the user's own PostgreSQL database.

The host is resolved and checked by the egress guard first, and libpq connects to the checked
addresses only (`hostaddr`), keeping the name for TLS verification. The statement always goes over
the extended protocol, so the server accepts exactly one statement and parameters are sent apart
from the SQL, never spliced into it. Read-only runs it in a `READ ONLY` transaction.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import math
import re
import socket
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied, EgressPolicy, resolve_checked
from shared.nodes.json_api import credential_of
from shared.nodes.registry import NodeType
from shared.nodes.service_call import MESSAGE_CHARS

if TYPE_CHECKING:
    import psycopg

    from shared.engine.context import NodeContext

NO_PASSFILE = "/nonexistent/flowbuilder/pgpass"
"""libpq falls back to ~/.pgpass without a password; this server's own secrets must never be offered."""

ROW_STATEMENTS = re.compile(r"^[\s(]*(select|with|values|table|show|explain)\b", re.IGNORECASE)
"""Statements whose rows are streamed (bounded memory); others run whole so their row count is known."""

TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
"""Connection failures, serialization failures and deadlocks, lack of resources, cancellation (the
statement timeout) and server shutdown, and system errors: another attempt may succeed."""

FINAL_CONNECT_ERRORS = ("authentication failed", "does not exist", "pg_hba.conf", "does not support SSL")
STREAM_CHUNK_ROWS = 200


class QueryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="postgres.query")

    credential: str = Field(
        description="Name of a stored postgres credential (host, port, database, user, password, sslmode).",
        examples=["crm-db"],
    )
    sql: str = Field(
        min_length=1,
        max_length=100_000,
        description="One SQL statement. Put values in `parameters` and refer to them as %s (a list) or "
        "%(name)s (an object), templates included; a {{ }} template in the SQL itself is refused, so input "
        "can never rewrite the statement. With parameters, write a literal % as %%.",
        examples=["SELECT id, email FROM customers WHERE created_at > %(since)s ORDER BY id"],
    )
    parameters: list[Any] | dict[str, Any] | None = Field(
        default=None,
        description="Values for the placeholders: a list for %s, an object for %(name)s. With an object, "
        "%(idempotency_key)s is this step's idempotency key unless you set one.",
        examples=[{"since": "{{ input.since }}"}],
    )
    read_only: bool = Field(
        default=True,
        description="Run in a read-only transaction, so any write fails; turn off for INSERT, UPDATE and DELETE.",
        examples=[False],
    )
    max_rows: int | None = Field(
        default=None,
        ge=1,
        description="Return at most this many rows (`truncated` says when there were more); capped by the server.",
        examples=[100],
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="The statement's time limit (statement_timeout); capped by the server's limit.",
        examples=[10],
    )


async def run_query(ctx: NodeContext, config: QueryConfig) -> dict[str, Any]:
    """Run one parameterised SQL statement on your PostgreSQL database; returns `rows` (objects by
    column name), `columns`, `row_count` and the `command` tag, such as "INSERT 0 3".

    Read-only by default: a write fails with a clear error until `read_only` is turned off. A write
    commits when the statement succeeds. Values come back as JSON: timestamps and dates as ISO 8601
    text, numeric as a number when exact (text otherwise), uuid as text, bytea as base64, interval as
    seconds. The host must pass the egress guard (private addresses only where the server allows).
    Connection failures, deadlocks, serialization failures and timeouts are retried when the node has
    retries; SQL errors are not.
    """
    settings = ctx.settings
    values = await credential_of(ctx, config.credential, "postgres")
    max_rows = min(config.max_rows or settings.postgres_query_max_rows, settings.postgres_query_max_rows)
    timeout = min(config.timeout_s or settings.postgres_query_timeout_s, settings.postgres_query_timeout_s)
    parameters = config.parameters
    if parameters == []:
        parameters = None  # no placeholders to fill, so a % in the SQL stays as written
    elif isinstance(parameters, dict):
        parameters = {"idempotency_key": ctx.idempotency_key, **parameters}
    where = f"postgres {values['host']}:{values['port']}/{values['database']}"
    deadline_s = settings.postgres_query_connect_timeout_s + timeout + 5
    try:
        async with asyncio.timeout(deadline_s):
            addresses = await resolve_checked(values["host"], values["port"], EgressPolicy.from_settings(settings))
            result = await _run(ctx, values, addresses, config, parameters, max_rows, timeout, where)
    except EgressDenied as exc:
        raise NodeError(f"{where}: {exc}", retryable=False) from exc
    except TimeoutError:
        raise NodeError(f"{where}: no answer within {deadline_s:g}s", retryable=True) from None
    except socket.gaierror as exc:
        raise NodeError(f"{where}: could not resolve the host: {exc}", retryable=True) from exc
    ctx.log.info(f"{where}: {result['command'] or 'statement'} done", rows=result["row_count"])
    return result


async def _run(
    ctx: NodeContext,
    values: dict[str, Any],
    addresses: list[str],
    config: QueryConfig,
    parameters: Any,
    max_rows: int,
    statement_timeout_s: float,
    where: str,
) -> dict[str, Any]:
    import psycopg
    from psycopg.rows import dict_row

    try:
        connection = await psycopg.AsyncConnection.connect(
            host=",".join([values["host"].strip("[]")] * len(addresses)),
            hostaddr=",".join(addresses),
            port=values["port"],
            dbname=values["database"],
            user=values["user"],
            password=values["password"],
            sslmode=values["sslmode"],
            connect_timeout=ctx.settings.postgres_query_connect_timeout_s,
            passfile=NO_PASSFILE,
            gssencmode="disable",
            application_name="flowbuilder",
            row_factory=dict_row,
        )
    except psycopg.OperationalError as exc:
        final = any(marker in str(exc) for marker in FINAL_CONNECT_ERRORS)
        raise NodeError(f"{where}: {_one_line(exc)[:MESSAGE_CHARS]}", retryable=not final) from None
    try:
        async with connection:
            await connection.set_read_only(config.read_only)
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [f"{statement_timeout_s * 1000:.0f}"]
                )
                return await _statement(connection, config.sql, parameters, max_rows)
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise NodeError(f"{where}: {_one_line(exc)}: turn off read_only to write", retryable=False) from None
    except psycopg.Error as exc:
        if exc.sqlstate:
            transient = exc.sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
        else:  # raised by psycopg itself: a lost connection, or a misuse such as parameters that don't fit
            transient = isinstance(exc, psycopg.OperationalError)
        hint = " (with parameters, write a literal % as %%)" if "placeholder" in str(exc) else ""
        raise NodeError(f"{where}: {_one_line(exc)[:MESSAGE_CHARS]}{hint}", retryable=transient) from None
    except TypeError as exc:  # psycopg: a list for %(name)s placeholders, or an object for %s
        raise NodeError(f"{where}: the parameters do not fit the placeholders: {exc}", retryable=False) from None


async def _statement(
    connection: psycopg.AsyncConnection[Any], sql: str, parameters: Any, max_rows: int
) -> dict[str, Any]:
    import psycopg

    cursor = connection.cursor()
    if not ROW_STATEMENTS.match(sql):
        await cursor.execute(sql, parameters, prepare=True)
        rows = await cursor.fetchmany(max_rows + 1) if cursor.description else []
        return _result(cursor, rows, max(cursor.rowcount, len(rows)), max_rows)
    rows, count = [], 0
    try:
        async for row in cursor.stream(sql, parameters, size=STREAM_CHUNK_ROWS):
            count += 1
            if count <= max_rows:
                rows.append(row)
    except psycopg.ProgrammingError as exc:  # a WITH that writes without RETURNING: done, count unknown
        if "didn't produce a result" not in str(exc):
            raise
        return _result(cursor, [], None, max_rows)
    return _result(cursor, rows, count, max_rows)


def _result(
    cursor: psycopg.AsyncCursor[Any], rows: list[dict[str, Any]], count: int | None, max_rows: int
) -> dict[str, Any]:
    columns = [column.name for column in cursor.description or ()]
    kept = rows[:max_rows]
    return {
        "rows": [{name: json_value(value) for name, value in row.items()} for row in kept],
        "columns": columns,
        "row_count": count,
        "truncated": count is not None and count > len(kept),
        "command": cursor.statusmessage,
    }


def json_value(value: Any) -> Any:
    """A database value as JSON: see `run_query`'s docstring for the conversions."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


def _decimal(value: Decimal) -> int | float | str:
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


NODE_TYPES = (
    NodeType(
        name="postgres.query",
        config_model=QueryConfig,
        run=run_query,
        cost=1,
        side_effects=True,
        raw_fields={"sql": "literal"},
    ),
)
