"""When no PostgreSQL answers, the suite starts a throwaway cluster with pg_ctl."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.postgres import _throwaway_cluster


def test_a_throwaway_cluster_starts_answers_and_is_removed():
    with _throwaway_cluster() as url:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar() == 1
        engine.dispose()
        port = sa.engine.make_url(url).port

    probe = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with probe.connect():
            raise AssertionError(f"the cluster on port {port} still answers after the run")
    except sa.exc.OperationalError:
        pass
    finally:
        probe.dispose()
