"""Clients of the portal API (``/api/v1``) and their keys; every call recorded.

A key is 32 random bytes shown once (``arayis api-key create``); the register keeps only
its SHA-256, which is enough for a key of that entropy (no salt or slow hash is needed:
nobody can guess 256 random bits, and the hash is what a request's key is looked up by).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.i18n import _
from arayis_cli.models import ApiCall, ApiClient

#: What each scope allows: submit and upload; read statuses and the feed; press "Çap et".
SCOPES = ("submit", "status", "print")
KEY_PREFIX = "arayis_"
NAME_SHAPE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
#: Calls shown by ``show`` for one application (the latest).
SHOWN_CALLS = 50


@dataclass(frozen=True)
class Client:
    """An authenticated caller: its name and what it may do."""

    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Call:
    """One API call, as recorded (``api_call``)."""

    at: datetime
    client: str | None
    method: str
    route: str
    application_id: int | None
    status: int
    outcome: str


def parse_name(name: str) -> str:
    value = (name or "").strip().lower()
    if not NAME_SHAPE.fullmatch(value):
        raise InvalidInput(
            _(
                "client name must be 1 to 40 lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        )
    return value


def parse_scopes(text: str) -> tuple[str, ...]:
    wanted = [s.strip().lower() for s in (text or "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise InvalidInput(
            _("--scope takes a comma-separated list of {scopes}").format(scopes=", ".join(SCOPES))
        )
    return tuple(s for s in SCOPES if s in wanted)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(
    session: Session, name: str, scopes: Iterable[str], *, now: datetime, actor: str
) -> tuple[ApiClient, str]:
    """A new client and its key (returned once; only the hash is stored)."""
    from sqlalchemy.exc import IntegrityError

    name = parse_name(name)
    if session.get(ApiClient, name) is not None:
        raise Conflict(_("API client {name} already exists").format(name=name))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        name=name,
        key_sha256=key_hash(key),
        scopes=",".join(scopes),
        created_at=now,
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(client)
            session.flush()
    except IntegrityError:  # created by someone else meanwhile
        raise Conflict(_("API client {name} already exists").format(name=name)) from None
    return client, key


def clients(session: Session) -> list[ApiClient]:
    return list(session.execute(select(ApiClient).order_by(ApiClient.name)).scalars())


def revoke(session: Session, name: str, *, now: datetime, actor: str) -> ApiClient:
    name = parse_name(name)
    client = session.execute(
        select(ApiClient).where(ApiClient.name == name).with_for_update()
    ).scalar_one_or_none()
    if client is None:
        raise NotFound(_("API client {name} not found").format(name=name))
    if client.revoked_at is not None:
        raise Conflict(_("API client {name} is already revoked").format(name=name))
    client.revoked_at = now
    client.revoked_by = actor
    session.flush()
    return client


def authenticate(session: Session, key: str) -> Client | None:
    """The client whose key this is, or None (unknown or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    row = session.execute(
        select(ApiClient.name, ApiClient.scopes, ApiClient.revoked_at).where(
            ApiClient.key_sha256 == key_hash(key)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return Client(row.name, frozenset(s for s in row.scopes.split(",") if s))


def record_calls(session: Session, calls: list[Call]) -> None:
    if calls:
        session.execute(
            insert(ApiCall.__table__),  # type: ignore[attr-defined]
            [
                {
                    "at": c.at,
                    "client": c.client,
                    "method": c.method,
                    "route": c.route,
                    "application_id": c.application_id,
                    "status": c.status,
                    "outcome": c.outcome,
                }
                for c in calls
            ],
        )


def calls_of(session: Session, app_id: int) -> list[ApiCall]:
    """The latest API calls about one application, oldest first."""
    rows = list(
        session.execute(
            select(ApiCall)
            .where(ApiCall.application_id == app_id)
            .order_by(ApiCall.id.desc())
            .limit(SHOWN_CALLS)
        ).scalars()
    )
    rows.reverse()
    return rows
