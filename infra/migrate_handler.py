"""The deploy-time migration Lambda (`infra.migrate_handler.handler`): Alembic to head.

It ships in the Lambda code next to the API (see infra/build_lambda.py) and imports no CDK."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from shared.db.migrate import current_revision, upgrade
    from shared.db.session import create_db_engine
    from shared.settings import get_settings

    engine = create_db_engine(get_settings().resolved_database_url)
    try:
        upgrade(engine)
        return {"revision": current_revision(engine)}
    finally:
        engine.dispose()
