"""The transition function under interleavings that processes rarely hit by chance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arayis_cli.db import session_scope
from arayis_cli.errors import Conflict
from arayis_cli.services import decisions
from arayis_cli.services.common import get_application
from arayis_cli.workflow import Action
from tests.helpers import CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN, Cli, new_app, terms

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_stale_read_loses_without_writing(loaded: Cli) -> None:
    app_id = int(new_app(loaded))
    loaded("review", str(app_id))
    with session_scope(loaded.url, write=False) as reader:
        app = get_application(reader, app_id)  # what operator Anar saw a moment ago
    with session_scope(loaded.url) as other:  # meanwhile Aysel decides
        decisions.reject(other, app_id, reason="Uyğunsuzluq", now=NOW, actor="aysel", terms=terms())
    with pytest.raises(Conflict), session_scope(loaded.url) as session:
        decisions.transition(session, app, Action.APPROVE, now=NOW, actor="anar")
    shown = loaded.json("show", str(app_id))
    assert shown["status"] == "rejected"
    assert [h["action"] for h in shown["history"]].count("approve") == 0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_review_next_skips_rows_locked_by_another_worker(loaded: Cli) -> None:
    first = int(new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN))
    second = int(new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN))
    with session_scope(loaded.url) as worker_a:
        claimed_a, _ = decisions.review_next(worker_a, now=NOW, actor="a")
        # Worker A has not committed yet; worker B must not wait for it nor take the same row.
        with session_scope(loaded.url) as worker_b:
            claimed_b, _ = decisions.review_next(worker_b, now=NOW, actor="b")
        assert claimed_a.id == first and claimed_b.id == second
