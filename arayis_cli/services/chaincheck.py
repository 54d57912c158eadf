"""db check's half of the hash chain: every link follows from the one before, every
kept row agrees with its last link, and (given one) a kept signed head is still the
chain's link at its position."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from arayis_cli.i18n import _
from arayis_cli.services.chain import CHAINED, GENESIS, GONE, link_hash, rows_with_digests

if TYPE_CHECKING:
    from arayis_cli.certificate.signing import KeyPlace


def _what(table: str) -> str:
    """What a person calls a row of ``table`` (for a finding's line)."""
    return {
        "abonent": _("abonent"),
        "ledger_entry": _("ledger entry"),
        "application": _("application"),
        "document": _("document"),
        "event": _("history entry"),
        "outbox_message": _("email"),
        "certificate": _("certificate record"),
        "certificate_verification": _("verification record"),
        "policy": _("policy setting"),
        "audit_log": _("audit entry"),
        "status_change": _("feed entry"),
    }[table]


def check_chain(
    session: Session,
    problem: Callable[[str], None],
    *,
    head: dict[str, Any] | None = None,
    keys: KeyPlace | None = None,
) -> int:
    """Walk the chain once (positions 1…n, each hash recomputed), then merge each kept
    table with its rows' last links, both read in key order (memory stays flat however
    large the store). Returns the number of links."""
    conn = session.connection()
    dialect = conn.dialect.name
    expected_pos, prev, links = 1, GENESIS, 0
    hashes_at: dict[int, str] = {0: GENESIS}  # a head kept before the first link
    want = int(head["position"]) if head else None
    broken = False
    rows = conn.execute(
        text("SELECT position, tbl, rid, digest, hash FROM chain_link ORDER BY position")
    )
    for position, table, rid, digest, stored in rows:
        links += 1
        if not broken and (
            position != expected_pos
            or table not in CHAINED
            or stored != link_hash(prev, str(table), str(rid), str(digest))
        ):
            problem(
                _(
                    "chain link {position} does not follow from the link before it "
                    "(the chain was edited)"
                ).format(position=position)
            )
            broken = True  # one line: every later link would disagree as well
        expected_pos = int(position) + 1 if isinstance(position, int) else expected_pos + 1
        prev = str(stored)
        if want is not None and position == want:
            hashes_at[want] = prev
    if dialect == "postgresql":
        left = conn.execute(text("SELECT count(*) FROM chain_pending")).scalar_one()
        if left:
            problem(
                _("{left} change(s) were committed without their chain links").format(left=left)
            )
    for table in CHAINED:
        what = _what(table)
        rows = _sorted_rows(conn, table, dialect)
        for rid, digest, kept in _merged(rows, _last_links(conn, table, dialect)):
            if digest is None:
                if kept != GONE:
                    problem(
                        _(
                            "{what} {key} was deleted outside arayis (its chain link remains)"
                        ).format(what=what, key=rid)
                    )
            elif kept is None or kept == GONE:
                problem(
                    _("{what} {key} was added outside arayis (it has no chain link)").format(
                        what=what, key=rid
                    )
                )
            elif kept != digest:
                problem(
                    _(
                        "{what} {key} was changed outside arayis (it differs from its chain link)"
                    ).format(what=what, key=rid)
                )
    if head is not None:
        _check_head(session, problem, head, hashes_at, links, keys)
    return links


def _check_head(
    session: Session,
    problem: Callable[[str], None],
    head: dict[str, Any],
    hashes_at: dict[int, str],
    links: int,
    keys: KeyPlace | None,
) -> None:
    from arayis_cli.services.chainhead import head_signature_ok

    position = int(head["position"])
    if not head_signature_ok(session, head, keys):
        problem(
            _("the kept head at position {position} is not signed by a registered key").format(
                position=position
            )
        )
    if position > links:
        problem(
            _(
                "the chain has {links} link(s) but the kept head is at position {position} "
                "(links were removed)"
            ).format(links=links, position=position)
        )
    elif hashes_at.get(position) != head["hash"]:
        problem(
            _(
                "chain link {position} differs from the kept head: the chain up to it was rewritten"
            ).format(position=position)
        )


def _sorted_rows(conn: Any, table: str, dialect: str) -> Iterator[tuple[str, str]]:
    """(key, digest) of every row, in the binary order of the key as text."""
    key = CHAINED[table][0]
    order = f'CAST("{key}" AS TEXT)' if dialect == "sqlite" else f'"{key}"::text COLLATE "C"'
    yield from rows_with_digests(conn, table, dialect, order_by=order)


def _last_links(conn: Any, table: str, dialect: str) -> Iterator[tuple[str, str]]:
    """(key, digest of its last link) for every row the chain names, in the same order."""
    collate = "" if dialect == "sqlite" else ' COLLATE "C"'
    rows = conn.execute(
        text(
            f"SELECT rid, digest FROM chain_link WHERE tbl = :tbl ORDER BY rid{collate}, position"
        ),
        {"tbl": table},
    )
    current: str | None = None
    digest = ""
    for rid, this in rows:
        if rid != current and current is not None:
            yield current, digest
        current, digest = str(rid), str(this)
    if current is not None:
        yield current, digest


def _merged(
    rows: Iterator[tuple[str, str]], links: Iterator[tuple[str, str]]
) -> Iterator[tuple[str, str | None, str | None]]:
    """(key, the row's digest or None, its last link's digest or None), by key."""
    row = next(rows, None)
    link = next(links, None)
    while row is not None or link is not None:
        if row is not None and (link is None or row[0] < link[0]):
            yield row[0], row[1], None
            row = next(rows, None)
        elif row is None or link[0] < row[0]:
            yield link[0], None, link[1]
            link = next(links, None)
        else:
            yield row[0], row[1], link[1]
            row, link = next(rows, None), next(links, None)
