"""The staff register: who is named on a certificate, by display name, never by login.

A login is a PostgreSQL login (the server's ``session_user``) or, on SQLite, the operator
name (``--operator`` / ``ARAYIS_OPERATOR``). With no entry for the person printing, the
certificate leaves a blank line for a handwritten name beside the signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from arayis_cli.errors import InvalidInput, NotFound
from arayis_cli.formats import iso_baku
from arayis_cli.i18n import N_, _
from arayis_cli.models import Staff
from arayis_cli.validation import clean_text


@dataclass(frozen=True)
class Responsible:
    """The person named on a certificate (``name`` empty: a blank line to sign by hand)."""

    name: str = ""
    title: str = ""


def parse_login(login: str) -> str:
    value = login.strip()
    if not value or len(value) > 100 or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise InvalidInput(
            _("login must be one word of at most 100 characters: {login!r}").format(login=login)
        )
    return value


def staff_json(row: Staff) -> dict[str, Any]:
    return {
        "login": row.login,
        "name": row.name,
        "title": row.title,
        "added_at": iso_baku(row.added_at),
        "added_by": row.added_by,
    }


def add(
    session: Session, login: str, *, name: str, title: str | None, now: datetime, actor: str
) -> Staff:
    """Register (or correct) the display name and title of ``login``."""
    from arayis_cli.certificate.printable import ensure_printable

    login = parse_login(login)
    name = clean_text(name, N_("name"), limit=200)
    title = clean_text(title, N_("title"), limit=200) if title is not None else None
    ensure_printable(operator=f"{name} {title or ''}")  # it will be printed: the font has it
    row = session.execute(
        select(Staff).where(Staff.login == login).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = Staff(login=login, name=name, title=title, added_at=now, added_by=actor)
        session.add(row)
    else:
        row.name, row.title, row.added_at, row.added_by = name, title, now, actor
    session.flush()
    return row


def remove(session: Session, login: str) -> Staff:
    login = parse_login(login)
    row = session.get(Staff, login)
    if row is None:
        raise NotFound(_("no staff member with login {login}").format(login=login))
    session.delete(row)
    session.flush()
    return row


def listing(session: Session) -> list[Staff]:
    return list(session.execute(select(Staff).order_by(Staff.login)).scalars())


def responsible(session: Session, actor: str) -> Responsible:
    """The registered name of whoever prints now: the PostgreSQL login first (what the
    server authenticated), then the operator name; nobody registered → blank."""
    logins = [actor]
    if session.get_bind().dialect.name == "postgresql":
        logins.insert(0, str(session.execute(text("SELECT session_user")).scalar_one()))
    from arayis_cli.services.common import autoflush

    autoflush(session)
    conn = session.connection()
    for login in logins:
        row = conn.execute(_NAMED, {"login": login}).first()
        if row is not None:
            return Responsible(row.name, row.title or "")
    return Responsible()


def _named() -> Any:
    from sqlalchemy import bindparam

    staff = Staff.__table__.c  # type: ignore[attr-defined]
    return select(staff.name, staff.title).where(staff.login == bindparam("login"))


#: Who is named, by login: built once (asked at every print; rows, not ORM objects).
_NAMED = _named()
