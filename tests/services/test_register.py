"""The register's service functions without the CLI (what the portal's "Çap et" calls):
issue a certificate and get its bytes, get the registered bytes again, and the database's
last line under both."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from arayis_cli.db import session_scope
from arayis_cli.errors import AlreadyIssued, Conflict
from arayis_cli.services.printing import copy_certificate, print_certificate
from tests.helpers import Cli, app_in, issuer

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_issue_then_copy_then_renew_without_files(loaded: Cli, tmp_path) -> None:
    app_id = int(app_in(loaded, "completed"))
    with session_scope(loaded.url) as session:
        issued = print_certificate(session, app_id, now=NOW, actor="portal", issuer=issuer())
        number, pdf = issued.certificate.number, issued.pdf
    assert pdf.startswith(b"%PDF-") and not list(tmp_path.glob("*.pdf"))
    with session_scope(loaded.url, write=False) as session:
        copy = copy_certificate(session, app_id)
        assert copy.certificate.number == number and copy.pdf == pdf
        assert copy.certificate.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    with pytest.raises(AlreadyIssued), session_scope(loaded.url) as session:
        print_certificate(session, app_id, now=NOW, actor="portal", issuer=issuer())
    with session_scope(loaded.url) as session:
        renewed = print_certificate(
            session, app_id, now=NOW, actor="portal", issuer=issuer(), renew_reason="lost"
        )
        new_number = renewed.certificate.number
    with session_scope(loaded.url, write=False) as session:
        assert copy_certificate(session, app_id).certificate.number == new_number
    shown = loaded.json("show", str(app_id))
    assert [c["superseded_by"] for c in shown["certificates"]] == [new_number, None]


def test_the_index_refuses_a_second_current_certificate(loaded: Cli) -> None:
    """Even a caller that skips the check cannot register two current certificates: the
    clash is a Conflict (exit 5), never a crash, and nothing is left behind."""
    from dataclasses import replace

    from arayis_cli.services.printing import allocate_number, prepare_certificate
    from arayis_cli.services.printing import register_certificate as register

    app_id = int(app_in(loaded, "completed"))
    with session_scope(loaded.url) as session:
        print_certificate(session, app_id, now=NOW, actor="a", issuer=issuer())
    with pytest.raises(Conflict), session_scope(loaded.url) as session:
        number = allocate_number(session, 2026)
        ready = prepare_certificate(
            session, app_id, number=number, now=NOW, actor="b", issuer=issuer(), renew_reason="x"
        )
        register(session, replace(ready, reason=None, previous=None), b"%PDF-x")
    assert len(loaded.json("show", str(app_id))["certificates"]) == 1
