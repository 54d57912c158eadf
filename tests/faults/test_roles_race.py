"""`arayis db roles` run at the same moment on several databases of one PostgreSQL cluster.

Roles and role memberships belong to the cluster, not to a database, so the per-database
advisory lock does not order these installs: the first ever install on a cluster races
the others to create the same roles. Every one must succeed (a parallel test run, or two
offices setting up on one server, does exactly this).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.faults.pgcluster import Cluster

RUNS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()  # its own cluster: no arayis roles exist yet
    yield c
    c.destroy()


@pytest.mark.slow
def test_first_installs_on_one_cluster_all_succeed(cluster: Cluster) -> None:
    import psycopg

    from arayis_cli import db
    from arayis_cli.db import session_scope
    from arayis_cli.services.roles import Role, install

    template = cluster.create_database("roles_template")
    db.upgrade(template)
    db.dispose_all()
    admin = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        for i in range(RUNS):
            conn.execute(f'CREATE DATABASE "roles_{i}" TEMPLATE "roles_template"')
    start = threading.Barrier(RUNS)
    results: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            with session_scope(cluster.url(f"roles_{i}")) as session:
                start.wait(timeout=60)
                results[i] = install(session)
        except Exception as exc:  # reported below, with the database it happened in
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    db.dispose_all()
    failed = {i: r for i, r in results.items() if isinstance(r, Exception)}
    assert failed == {}, failed
    assert len(results) == RUNS
    created = [name for r in results.values() for name in r["created"]]  # type: ignore[index]
    assert sorted(created) == sorted(r.value for r in Role)  # each made once, by someone
    with psycopg.connect(admin) as conn:
        members = conn.execute(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
            " WHERE r.rolname LIKE 'arayis\\_%'"
        ).fetchone()
    assert members is not None and members[0] > 0
