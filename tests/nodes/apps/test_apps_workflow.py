"""App nodes inside a real run: a workflow read from PostgreSQL, upserted to HubSpot (one step per row,
retried through a rate limit) and summed up in Notion, run by the engine on a local database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.cli.files import WorkflowFile
from shared.cli.local_run import run_workflow_file
from shared.settings import Settings
from tests.support.http_server import Received, Reply
from tests.support.postgres import scratch_database

PAGE = "b55c9c91384d452b81dbd1ef79372b75"
SQL = "SELECT email, name FROM signups WHERE email LIKE %(domain)s ORDER BY email"


@pytest.fixture
def crm_url(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, prefix="fb_appsflow") as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE signups (email text, name text)"))
            conn.execute(sa.text("INSERT INTO signups VALUES ('ann@acme.test', 'Ann'), ('bob@acme.test', 'Bob')"))
        engine.dispose()
        yield url


def rate_limited_once():
    calls: list[str] = []

    def reply(received: Received) -> Reply:
        email = received.json()["inputs"][0]["id"]
        calls.append(email)
        if calls.count(email) == 1 and email == "bob@acme.test":
            return Reply(status=429, body={"status": "error", "message": "slow down", "category": "RATE_LIMITS"})
        return Reply(body={"status": "COMPLETE", "results": [{"id": email.split("@")[0], "new": True}]})

    return reply


async def test_rows_flow_from_postgres_to_hubspot_and_notion(server, crm_url: str, tmp_path: Path) -> None:
    server.route("/crm/v3/objects/contacts/batch/upsert", rate_limited_once())
    server.route("/v1/pages", body={"object": "page", "id": "p1", "url": "https://www.notion.so/p1"})
    url = sa.engine.make_url(crm_url)
    credentials = {
        "crm": {"type": "postgres", "host": url.host, "port": url.port, "database": url.database, "user": "postgres",
                "sslmode": "disable"},
        "hubspot": {"type": "hubspot", "token": "pat", "base_url": server.url("/")},
        "notion": {"type": "notion", "token": "ntn", "base_url": server.url("/")},
    }  # fmt: skip
    definition = {
        "nodes": [
            {"id": "signups", "type": "postgres.query",
             "config": {"credential": "crm", "sql": SQL,
                        "parameters": {"domain": "%@{{ input.domain }}"}}},
            {"id": "contacts", "type": "hubspot.upsert_contact", "for_each": "{{ nodes.signups.output.rows }}",
             "config": {"credential": "hubspot", "email": "{{ item.email }}",
                        "properties": {"firstname": "{{ item.name }}"}},
             "retry": {"max_attempts": 2, "backoff_s": 0.01}},
            {"id": "summary", "type": "notion.create_page",
             "config": {"credential": "notion", "page_id": PAGE,
                        "title": "{{ nodes.contacts.output | length }} contacts from {{ input.domain }}"}},
        ],
        "edges": [{"from": "signups", "to": "contacts"}, {"from": "contacts", "to": "summary"}],
    }  # fmt: skip
    settings = Settings(data_dir=tmp_path, egress_allow_private=True)

    outcome = await run_workflow_file(
        WorkflowFile("apps", "", definition), {"domain": "acme.test"}, settings, credentials=credentials
    )

    assert outcome.status == "succeeded", outcome.error
    assert [contact["id"] for contact in outcome.steps["contacts"].output] == ["ann", "bob"]
    upserts = [r.json()["inputs"][0]["id"] for r in server.received if r.path.endswith("/upsert")]
    assert sorted(upserts) == ["ann@acme.test", "bob@acme.test", "bob@acme.test"]
    [page] = [r.json() for r in server.received if r.path == "/v1/pages"]
    assert page["properties"]["title"]["title"][0]["text"]["content"] == "2 contacts from acme.test"
