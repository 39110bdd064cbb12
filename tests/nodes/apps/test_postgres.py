"""`postgres.query` against the local PostgreSQL, in a scratch database of its own."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from shared.engine.errors import NodeError
from shared.settings import Settings
from shared.vault.types import CredentialInvalid, validate_values
from tests.support.postgres import scratch_database

ALLOW_LOOPBACK = Settings(egress_allow_private=True)


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, prefix="fb_pgquery") as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, tier text)"))
            conn.execute(
                sa.text("INSERT INTO customers (email, tier) VALUES ('ann@acme.test', 'gold'), ('bob@acme.test', NULL)")
            )
            conn.execute(sa.text("CREATE TABLE events (key text PRIMARY KEY, note text)"))
        engine.dispose()
        yield url


@pytest.fixture
def credentials(database_url: str) -> dict[str, dict[str, Any]]:
    url = sa.engine.make_url(database_url)
    values = {"host": url.host, "port": url.port or 5432, "database": url.database, "user": url.username}
    return {"db": {"type": "postgres", **validate_values("postgres", {**values, "sslmode": "disable"})}}


@pytest.fixture
def table(database_url: str):
    engine = sa.create_engine(database_url)

    def rows(sql: str) -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]

    yield rows
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events"))
        conn.execute(sa.text("DELETE FROM customers WHERE id > 2"))
    engine.dispose()


async def query(run_node, credentials, sql: str, settings: Settings = ALLOW_LOOPBACK, **config: Any) -> Any:
    return await run_node(
        "postgres.query", {"credential": "db", "sql": sql, **config}, credentials=credentials, settings=settings
    )


async def test_select_with_named_parameters_returns_rows_by_column(run_node, credentials) -> None:
    output = await query(
        run_node, credentials, "SELECT id, email, tier FROM customers WHERE email LIKE %(domain)s ORDER BY id",
        parameters={"domain": "%@acme.test"},
    )  # fmt: skip

    assert output == {
        "rows": [
            {"id": 1, "email": "ann@acme.test", "tier": "gold"},
            {"id": 2, "email": "bob@acme.test", "tier": None},
        ],
        "columns": ["id", "email", "tier"],
        "row_count": 2,
        "truncated": False,
        "command": None,
    }


async def test_positional_parameters(run_node, credentials) -> None:
    output = await query(run_node, credentials, "SELECT email FROM customers WHERE id = %s", parameters=[2])

    assert output["rows"] == [{"email": "bob@acme.test"}]


async def test_values_come_back_as_json(run_node, credentials) -> None:
    sql = """SELECT timestamptz '2026-11-24 03:00:00+00' AS at, date '2026-11-24' AS day, 12.50::numeric AS price,
             10::numeric AS whole, 1.000000000000000000001::numeric AS precise,
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id,
             '\\x00ff'::bytea AS raw, '{"a": [1, 2.5]}'::jsonb AS doc, interval '1 day 2 seconds' AS took,
             ARRAY[date '2026-01-01'] AS days, 'NaN'::float8 AS nan, inet '10.0.0.1' AS ip"""  # fmt: skip

    [row] = (await query(run_node, credentials, sql))["rows"]

    assert row == {
        "at": "2026-11-24T03:00:00+00:00",
        "day": "2026-11-24",
        "price": 12.5,
        "whole": 10,
        "precise": "1.000000000000000000001",
        "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "raw": "AP8=",
        "doc": {"a": [1, 2.5]},
        "took": 86402.0,
        "days": ["2026-01-01"],
        "nan": "nan",
        "ip": "10.0.0.1",
    }


async def test_parameters_are_never_spliced_into_the_sql(run_node, credentials, table) -> None:
    hostile = "x'); DROP TABLE customers; --"

    await query(
        run_node,
        credentials,
        "INSERT INTO events (key, note) VALUES (%s, %s)",
        parameters=["k", hostile],
        read_only=False,
    )

    assert table("SELECT note FROM events") == [(hostile,)]
    assert table("SELECT count(*) FROM customers") == [(2,)]


async def test_read_only_by_default_so_writes_fail_clearly(run_node, credentials, table) -> None:
    with pytest.raises(
        NodeError, match="cannot execute INSERT in a read-only transaction: turn off read_only"
    ) as failed:
        await query(run_node, credentials, "INSERT INTO events (key) VALUES ('a')")

    assert not failed.value.retryable
    assert table("SELECT count(*) FROM events") == [(0,)]


async def test_read_only_also_covers_writes_inside_a_select(run_node, credentials, table) -> None:
    sql = "WITH added AS (INSERT INTO events (key) VALUES ('a') RETURNING key) SELECT key FROM added"

    with pytest.raises(NodeError, match="read-only transaction"):
        await query(run_node, credentials, sql)

    assert table("SELECT count(*) FROM events") == [(0,)]


async def test_write_commits_and_reports_its_row_count(run_node, credentials, table) -> None:
    output = await query(
        run_node, credentials, "INSERT INTO events (key, note) VALUES ('a', 'one'), ('b', 'two')", read_only=False
    )

    assert (output["rows"], output["row_count"], output["command"]) == ([], 2, "INSERT 0 2")
    assert table("SELECT key, note FROM events ORDER BY key") == [("a", "one"), ("b", "two")]


async def test_write_returning_gives_its_rows(run_node, credentials, table) -> None:
    output = await query(
        run_node, credentials, "INSERT INTO customers (email) VALUES (%(email)s) RETURNING email, tier",
        parameters={"email": "cy@acme.test"}, read_only=False,
    )  # fmt: skip

    assert output["rows"] == [{"email": "cy@acme.test", "tier": None}]
    assert output["command"] == "INSERT 0 1"


async def test_with_that_writes_without_returning_commits_with_unknown_count(run_node, credentials, table) -> None:
    sql = "WITH gone AS (DELETE FROM events WHERE key = 'x') INSERT INTO events (key) VALUES ('y')"

    output = await query(run_node, credentials, sql, read_only=False)

    assert (output["rows"], output["row_count"], output["truncated"]) == ([], None, False)
    assert table("SELECT key FROM events") == [("y",)]


@pytest.mark.parametrize("sql", ["SELECT 1; DELETE FROM customers", "DELETE FROM events; DELETE FROM customers"])
async def test_only_one_statement_runs(run_node, credentials, table, sql) -> None:
    with pytest.raises(NodeError, match="cannot insert multiple commands") as failed:
        await query(run_node, credentials, sql, read_only=False)

    assert not failed.value.retryable
    assert table("SELECT count(*) FROM customers") == [(2,)]


async def test_idempotency_key_is_a_named_parameter(run_node, make_context, credentials, table) -> None:
    ctx = make_context("postgres.query", settings=ALLOW_LOOPBACK, credentials=credentials, node_id="log")
    sql = "INSERT INTO events (key, note) VALUES (%(idempotency_key)s, %(note)s) ON CONFLICT (key) DO NOTHING"
    config = {"credential": "db", "sql": sql, "parameters": {"note": "once"}, "read_only": False}

    first = await run_node("postgres.query", config, ctx=ctx)
    second = await run_node("postgres.query", config, ctx=ctx)

    assert (first["row_count"], second["row_count"]) == (1, 0)
    assert table("SELECT key, note FROM events") == [(f"fb-{ctx.execution_id}-log", "once")]


async def test_rows_are_capped_by_config_and_settings(run_node, credentials) -> None:
    sql = "SELECT n FROM generate_series(1, 500) AS n"

    capped = await query(run_node, credentials, sql, max_rows=10)
    by_server = await query(
        run_node,
        credentials,
        sql,
        max_rows=100,
        settings=Settings(egress_allow_private=True, postgres_query_max_rows=3),
    )

    assert [row["n"] for row in capped["rows"]] == list(range(1, 11))
    assert (capped["row_count"], capped["truncated"]) == (500, True)
    assert len(by_server["rows"]) == 3


async def test_write_without_row_keyword_is_capped_too(run_node, credentials, table) -> None:
    output = await query(
        run_node, credentials, "INSERT INTO events (key) SELECT n::text FROM generate_series(1, 5) n RETURNING key",
        read_only=False, max_rows=2,
    )  # fmt: skip

    assert (len(output["rows"]), output["row_count"], output["truncated"]) == (2, 5, True)
    assert table("SELECT count(*) FROM events") == [(5,)]


async def test_statement_timeout_is_retryable(run_node, credentials) -> None:
    with pytest.raises(NodeError, match="statement timeout") as failed:
        await query(run_node, credentials, "SELECT pg_sleep(5)", timeout_s=0.2)

    assert failed.value.retryable


async def test_sql_errors_fail_for_good_with_the_server_message(run_node, credentials) -> None:
    with pytest.raises(NodeError, match='relation "nope" does not exist') as failed:
        await query(run_node, credentials, "SELECT * FROM nope")

    assert not failed.value.retryable


@pytest.mark.parametrize(
    ("sql", "parameters"),
    [
        ("SELECT %s, %s", [1]),
        ("SELECT %(a)s", {"b": 1}),
        ("SELECT %s", {"a": 1}),
        ("SELECT 'a%'", {"a": 1}),
    ],
)
async def test_parameters_that_do_not_fit_fail_for_good(run_node, credentials, sql, parameters) -> None:
    with pytest.raises(NodeError) as failed:
        await query(run_node, credentials, sql, parameters=parameters)

    assert not failed.value.retryable
    assert "postgres 127.0.0.1" in failed.value.message


async def test_percent_needs_no_escaping_without_parameters(run_node, credentials) -> None:
    output = await query(run_node, credentials, "SELECT 'it''s 100%' AS text", parameters=[])

    assert output["rows"] == [{"text": "it's 100%"}]


async def test_host_name_is_resolved_checked_and_connected_by_address(run_node, credentials) -> None:
    credentials["db"]["host"] = "localhost"

    output = await query(run_node, credentials, "SELECT inet_server_addr() IS NOT NULL AS over_tcp")
    with pytest.raises(NodeError, match=r"egress to localhost refused: (127\.0\.0\.1|::1) is loopback"):
        await query(run_node, credentials, "SELECT 1", settings=Settings())

    assert output["rows"] == [{"over_tcp": True}]


async def test_egress_guard_refuses_the_host_before_connecting(run_node, credentials) -> None:
    with pytest.raises(NodeError, match=r"egress to 127\.0\.0\.1 refused: 127\.0\.0\.1 is loopback") as failed:
        await query(run_node, credentials, "SELECT 1", settings=Settings())

    assert not failed.value.retryable


async def test_unknown_database_fails_for_good(run_node, credentials) -> None:
    credentials["db"]["database"] = "fb_no_such_database"

    with pytest.raises(NodeError, match='database "fb_no_such_database" does not exist') as failed:
        await query(run_node, credentials, "SELECT 1")

    assert not failed.value.retryable


async def test_connection_refused_is_retryable(run_node, credentials) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        credentials["db"]["port"] = probe.getsockname()[1]

    with pytest.raises(NodeError, match="Connection refused") as failed:
        await query(run_node, credentials, "SELECT 1")

    assert failed.value.retryable


@pytest.mark.parametrize("host", ["/var/run/postgresql", "a.example,b.example", "db host", "h=x"])
def test_credential_host_is_one_host_name_or_address(host) -> None:
    with pytest.raises(CredentialInvalid, match=r"values\.host"):
        validate_values("postgres", {"host": host, "database": "d", "user": "u"})


def test_credential_defaults() -> None:
    values = validate_values("postgres", {"host": "db.example.com", "database": "crm", "user": "reader"})

    assert values == {
        "host": "db.example.com",
        "port": 5432,
        "database": "crm",
        "user": "reader",
        "password": "",
        "sslmode": "prefer",
    }


def test_a_template_in_the_sql_is_refused_when_the_workflow_is_validated() -> None:
    from shared.engine.validation import validate_definition
    from shared.nodes import default_registry

    definition = {
        "nodes": [
            {
                "id": "q",
                "type": "postgres.query",
                "config": {"credential": "db", "sql": "SELECT * FROM t WHERE email = '{{ input.email }}'"},
            },
            {
                "id": "ok",
                "type": "postgres.query",
                "config": {
                    "credential": "db",
                    "sql": "SELECT * FROM t WHERE email = %(email)s",
                    "parameters": {"email": "{{ input.email }}"},
                },
            },
        ]
    }

    _, issues = validate_definition(definition, default_registry())

    assert [(issue.node, issue.field) for issue in issues] == [("q", "config.sql")]
    assert "templates are not allowed" in issues[0].message
