"""The office's signing key: made on purpose, one for every login, rotated and retired.

On PostgreSQL (an office of several logins) the register says which key is the office's
current one (``signing_key.current``, at most one, enforced by a unique index) and the
private key lives where ``ARAYIS_SIGNING_KEY`` points on the machines that print. No
command creates a key there but ``keys init``; a print signs only with the key the register
names as current, so after ``keys rotate`` every login's next print is signed with the new
key (a machine still holding the old file is refused, told to install the new one).

The embedded SQLite terminal keeps its old habit: its key is created on first use in the
data directory (or read from ``ARAYIS_SIGNING_KEY``).

``keys retire KID`` stops a key from signing; with ``--compromised --since TIME``
verification answers ``key compromised`` for what that key signed after TIME.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from arayis_cli.certificate import pkcs11
from arayis_cli.certificate.signing import (
    KeyPlace,
    Signer,
    configured_key,
    current_signer,
    new_key,
    public_pem,
    read_private,
    write_key_file,
)
from arayis_cli.errors import ArayisError, Conflict, InvalidInput, NotFound, Unavailable
from arayis_cli.formats import iso_baku
from arayis_cli.i18n import _
from arayis_cli.models import SigningKey

#: PostgreSQL advisory lock taken by init, rotate and retire (two admins at once: one waits).
_KEYS_LOCK = 727276


def _office(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock(session: Session) -> None:
    from sqlalchemy import text

    if _office(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEYS_LOCK})


def current_row(session: Session) -> SigningKey | None:
    return session.execute(
        select(SigningKey).where(SigningKey.current.is_(True))  # type: ignore[attr-defined]
    ).scalar_one_or_none()


def _current_key(session: Session) -> Any:
    """The current key's ``kid`` and ``retired_at`` (a row, not an ORM object: asked at
    every print), or None."""
    from arayis_cli.services.common import autoflush

    autoflush(session)
    return session.connection().execute(_CURRENT_KEY).first()


_CURRENT_KEY = select(SigningKey.__table__.c.kid, SigningKey.__table__.c.retired_at).where(  # type: ignore[attr-defined]
    SigningKey.__table__.c.current.is_(True)  # type: ignore[attr-defined]
)


def _need_init() -> Unavailable:
    return Unavailable(
        _(
            "there is no office signing key yet: an administrator must run `arayis keys init` "
            "(with ARAYIS_SIGNING_KEY set to where the key is to be kept)"
        )
    )


def _read_office_file(path: Path, kid: str | None, place: KeyPlace) -> Signer:
    """The key file this machine is configured with; its absence is the environment's fault."""
    if not path.exists():
        if kid is None:
            raise _need_init()
        raise Unavailable(
            _(
                "the office signing key {kid} is not at {path} (ARAYIS_SIGNING_KEY): restore "
                "the key file from its backup, or ask the administrator"
            ).format(kid=kid, path=path)
        )
    try:
        return read_private(path, place)
    except InvalidInput as exc:
        raise Unavailable(exc.message) from None


class Unregistered(ArayisError):
    """The terminal's key is not in the register yet, and the caller only looks (writes
    nothing): the print is decided where the key can be registered."""


def signer_for_print(
    session: Session, *, now: datetime, place: KeyPlace, register_new: bool = True
) -> Signer:
    """The key that signs a certificate now.

    PostgreSQL: the register's current office key, read from ``ARAYIS_SIGNING_KEY``;
    anything else (no office key, no setting, a file holding another key) is refused with
    exit 8 and what to do, before anything is numbered. SQLite: the terminal's own key,
    created on first use and registered for verifiers (``register_new=False``: a look in a
    read-only transaction, :class:`Unregistered` instead).
    """
    configured = configured_key(place)
    if configured is not None and pkcs11.is_uri(configured):
        return _token_signer(session, str(configured))
    if not _office(session):
        try:
            signer = current_signer(place)
        except InvalidInput as exc:  # the key or its passphrase: this machine, not the input
            raise Unavailable(exc.message) from None
        if signer is None:  # created on first use: never None on the terminal
            raise RuntimeError("the terminal's signing key was not created")
        row = _current_key(session)
        if row is not None and row.kid == signer.kid:
            # The usual case, in one statement: registered, current, perhaps retired.
            _refuse_retired_row(row)
            return signer
        _refuse_retired(session, signer.kid)
        if row is not None and configured is not None and row.kid != signer.kid:
            # A configured file must hold the current key.
            _stale(configured, signer.kid, row.kid, place)
        if not register_new:
            raise Unregistered(f"key {signer.kid} is not registered yet")
        register(session, signer, now=now, current=row is None or None)  # the first: current
        return signer
    row = _current_key(session)
    if row is None:
        raise _need_init()
    path = configured_key(place)
    if path is None:
        raise Unavailable(
            _(
                "this machine has no office signing key: set ARAYIS_SIGNING_KEY to the office "
                "key file (key {kid})"
            ).format(kid=row.kid)
        )
    signer = _read_office_file(path, row.kid, place)
    if signer.kid != row.kid:
        _stale(path, signer.kid, row.kid, place)
    return signer


def _stale(path: Path, found: str, kid: str, place: KeyPlace) -> None:
    _interrupted(path, kid, place)
    raise Unavailable(
        _(
            "the key at {path} ({found}) is not the office's current signing key ({kid}): "
            "it was rotated; install the current key file there"
        ).format(path=path, found=found, kid=kid)
    )


def _token_signer(session: Session, uri: str) -> Signer:
    """The register's current key, held in the PKCS#11 token ``uri`` names."""
    row = current_row(session)
    if row is None:
        raise _need_init()
    ref = pkcs11.parse_uri(uri)
    key = pkcs11.find(ref, row.kid)
    if key is None:
        raise Unavailable(
            _(
                "the PKCS#11 token {where} does not hold the office's current signing key "
                "{kid}: point ARAYIS_SIGNING_KEY at the token that does"
            ).format(where=ref.where, kid=row.kid)
        )
    return Signer(row.kid, key)  # type: ignore[arg-type]  (signs like Ed25519PrivateKey)


def _token_new_current(session: Session, uri: str, *, now: datetime) -> dict[str, Any]:
    """A new key pair in the token, registered as the office's current key."""
    ref = pkcs11.parse_uri(uri)
    key = pkcs11.generate(ref)
    signer = Signer(key.kid, key)  # type: ignore[arg-type]
    try:
        register(session, signer, now=now, current=True)
        session.flush()
        session.commit()
    except BaseException:
        pkcs11.destroy(key)
        raise
    data = _row_json(session.get(SigningKey, key.kid))  # type: ignore[arg-type]
    data["path"] = ref.where
    return data


def _interrupted(path: Path, kid: str, place: KeyPlace) -> None:
    """A rotation stopped between its commit and moving the new file into place leaves the
    current key beside ``path`` (``.NAME.PID.new``): say so, rather than "rotated"."""
    for pending in sorted(path.parent.glob(f".{path.name}.*.new")):
        try:
            found = read_private(pending, place).kid
        except InvalidInput:
            continue
        if found == kid:
            raise Unavailable(
                _(
                    "a key rotation was interrupted: the office's current signing key {kid} is "
                    "in {pending}; move it over {path} (mv {pending} {path})"
                ).format(kid=kid, pending=pending, path=path)
            )


def _refuse_retired(session: Session, kid: str) -> None:
    row = session.get(SigningKey, kid)
    if row is not None:
        _refuse_retired_row(row)


def _refuse_retired_row(row: Any) -> None:
    """``row``: the key's register row (``kid``, ``retired_at``)."""
    if row.retired_at is not None:
        raise Unavailable(
            _(
                "signing key {kid} was retired: an administrator must run `arayis keys rotate`"
            ).format(kid=row.kid)
        )


def register(session: Session, signer: Signer, *, now: datetime, current: bool | None) -> None:
    """Put the key's public half in the register (once); ``current``: make it the one
    that signs (True), or leave the flags as they are (None)."""
    from arayis_cli.services.common import insert_ignore

    insert_ignore(
        session,
        SigningKey,
        {"kid": signer.kid, "public_key": public_pem(signer.public), "created_at": now},
    )
    if current:
        session.execute(
            update(SigningKey)
            .where(SigningKey.current.is_(True), SigningKey.kid != signer.kid)  # type: ignore[attr-defined]
            .values(current=False)
        )
        session.flush()
        session.execute(update(SigningKey).where(SigningKey.kid == signer.kid).values(current=True))
        session.flush()


def _row_json(row: SigningKey) -> dict[str, Any]:
    return {
        "kid": row.kid,
        "public_key": row.public_key,
        "current": bool(row.current),
        "created_at": iso_baku(row.created_at),
        "retired_at": iso_baku(row.retired_at),
        "compromised_since": iso_baku(row.compromised_since),
    }


def init(session: Session, *, now: datetime, place: KeyPlace) -> tuple[dict[str, Any], Path | None]:
    """Make the office key (or adopt the key file already at ``ARAYIS_SIGNING_KEY``) and
    register it as current. Returns the key's JSON and, when a new file was written, the
    temporary file the caller moves into place after the commit (see :func:`install_file`).
    """
    _lock(session)
    row = current_row(session)
    if row is not None:
        raise Conflict(
            _(
                "the office signing key {kid} already exists; `arayis keys rotate` replaces it"
            ).format(kid=row.kid)
        )
    path = configured_key(place)
    pending: Path | None = None
    if path is not None and pkcs11.is_uri(path):
        return {**_token_new_current(session, str(path), now=now), "created": True}, None
    if path is None:
        if _office(session):
            raise Unavailable(
                _(
                    "set ARAYIS_SIGNING_KEY to where the office key is to be kept (a file only "
                    "the printing service can read, e.g. /etc/arayis/signing-key.pem), then run "
                    "`arayis keys init` again"
                )
            )
        signer = current_signer(place)  # the terminal's key, made now if it has none
        if signer is None:
            raise RuntimeError("the terminal's signing key was not created")
    elif path.exists():
        signer = _read_office_file(path, None, place)  # adopt the key already there
    else:
        if not path.parent.is_dir():
            raise Unavailable(
                _("the folder of ARAYIS_SIGNING_KEY does not exist: {folder}").format(
                    folder=path.parent
                )
            )
        signer = new_key()
        pending = write_key_file(path, signer, place)
    existing = session.get(SigningKey, signer.kid)
    if existing is not None and existing.retired_at is not None:
        discard(pending)
        raise Conflict(
            _(
                "the key at {path} ({kid}) was retired and cannot become the office key again: "
                "move that file away and run `arayis keys init` again"
            ).format(path=path, kid=signer.kid)
        )
    try:
        register(session, signer, now=now, current=True)
        session.flush()
        data = _row_json(session.get(SigningKey, signer.kid))  # type: ignore[arg-type]
    except BaseException:
        discard(pending)
        raise
    data["path"] = str(path) if path else None
    data["created"] = pending is not None or path is None
    return data, pending


def rotate(
    session: Session, *, now: datetime, place: KeyPlace
) -> tuple[dict[str, Any], Path | None]:
    """A new office key in place of the current one, for every login.

    With ``ARAYIS_SIGNING_KEY`` set, the new key is written beside that file (same mode
    and group) and moved over it by :func:`install_file` once the register commits; old
    certificates keep verifying with the old public key, which stays in the register.
    """
    _lock(session)
    row = current_row(session)
    path = configured_key(place)
    if path is not None and pkcs11.is_uri(path):
        if row is None:
            raise _need_init()
        return {**_token_new_current(session, str(path), now=now), "previous": row.kid}, None
    if path is None:
        if _office(session):
            raise Unavailable(
                _(
                    "keys rotate replaces the office key where ARAYIS_SIGNING_KEY points: set it "
                    "to the office key file{which} and run `arayis keys rotate` again"
                ).format(which=f" ({row.kid})" if row else "")
            )
        from arayis_cli.certificate.signing import generate

        signer = generate(place)  # the terminal's keys folder: the new key is current there
        register(session, signer, now=now, current=True)
        return _row_json(session.get(SigningKey, signer.kid)), None  # type: ignore[arg-type]
    if not path.exists():
        if row is None:
            raise _need_init()
        raise Unavailable(
            _(
                "the office signing key {kid} is not at {path} (ARAYIS_SIGNING_KEY): run `arayis "
                "keys rotate` where ARAYIS_SIGNING_KEY is the office key file"
            ).format(kid=row.kid, path=path)
        )
    held = _read_office_file(path, row.kid if row else None, place)
    if row is None and _office(session):
        old = session.get(SigningKey, held.kid)
        if old is None or old.retired_at is None:
            raise _need_init()  # a file nobody made the office key: keys init adopts it
    elif row is not None and held.kid != row.kid:
        _interrupted(path, row.kid, place)
        raise Unavailable(
            _(
                "the key at {path} ({found}) is not the office's current signing key ({kid}): "
                "rotate where the current key file is, or put it back at {path} first"
            ).format(path=path, found=held.kid, kid=row.kid)
        )
    signer = new_key()
    pending = write_key_file(path, signer, place, like=path)
    try:
        register(session, signer, now=now, current=True)
        session.flush()
        data = _row_json(session.get(SigningKey, signer.kid))  # type: ignore[arg-type]
    except BaseException:
        discard(pending)
        raise
    data["previous"] = held.kid
    data["path"] = str(path)
    return data, pending


def install_file(pending: Path | None, place: KeyPlace) -> None:
    """Move a new key file over ``ARAYIS_SIGNING_KEY`` (after its register row committed)."""
    if pending is None:
        return
    path = configured_key(place)
    if path is None:  # a pending file exists only where a key file is configured
        raise RuntimeError("a pending key file without ARAYIS_SIGNING_KEY")
    os.replace(pending, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(pending: Path | None) -> None:
    if pending is not None:
        pending.unlink(missing_ok=True)


def commit_and_install(session: Any, pending: Path | None, place: KeyPlace) -> None:
    """Commit the register row of a new key, then move its staged file into place; a failed
    commit leaves no new file behind (``keys init`` and ``keys rotate``)."""
    try:
        session.commit()
    except BaseException:
        discard(pending)
        raise
    install_file(pending, place)


def retire(
    session: Session,
    kid: str,
    *,
    now: datetime,
    actor: str,
    compromised: bool,
    since: datetime | None,
) -> dict[str, Any]:
    """The key signs nothing more; ``compromised``: what it signed after ``since`` no longer
    verifies (``key compromised``). Retiring the current key stops printing until ``keys
    rotate`` (the key file at hand) or ``keys init`` (a lost file: a new key) makes another."""
    kid = kid.strip().lower()
    if since is not None and not compromised:
        raise InvalidInput(_("--since goes with --compromised"))
    if compromised and since is None:
        raise InvalidInput(
            _("--compromised needs --since TIME (when the key may first have been in other hands)")
        )
    _lock(session)
    row = session.execute(
        select(SigningKey).where(SigningKey.kid == kid).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(_("signing key {kid} is not in the register").format(kid=kid))
    if row.retired_at is not None and not compromised:
        raise Conflict(_("signing key {kid} was already retired").format(kid=kid))
    if row.retired_at is None:
        row.retired_at = now
        row.retired_by = actor
    if compromised:
        if since is None:  # the command requires --since with --compromised
            raise RuntimeError("a compromised key without the time it was compromised")
        if row.compromised_since is None or since < row.compromised_since:
            row.compromised_since = since
    was_current = bool(row.current)
    row.current = False
    session.flush()
    return {**_row_json(row), "was_current": was_current}


def export(
    session: Session, *, all_keys: bool, now: datetime, place: KeyPlace
) -> list[dict[str, Any]]:
    """The public key(s) verifiers need; never creates a key.

    The current key first is the register's current key; on SQLite, the terminal's key
    (registered here if it is not yet). ``all_keys``: every key in the register.
    """
    current = current_row(session)
    kid = current.kid if current else None
    configured = configured_key(place)
    if kid is None and not _office(session) and not pkcs11.is_uri(configured or ""):
        local = current_signer(place, create=False)
        if local is not None:
            register(session, local, now=now, current=None)
            kid = local.kid
    rows = session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars().all()
    found = [{**_row_json(r), "current": r.kid == kid} for r in rows if all_keys or r.kid == kid]
    if not found:
        raise NotFound(
            _("there is no signing key yet: an administrator makes it with `arayis keys init`")
        )
    return found


def compromised_after(session: Session, kid: str) -> datetime | None:
    """When key ``kid`` may first have been in other hands (None: never reported stolen).
    Asked at every verification and every hand-out: a statement built once."""
    from arayis_cli.services.common import autoflush

    autoflush(session)
    return session.connection().execute(_COMPROMISED_SINCE, {"kid": kid}).scalar()


_COMPROMISED_SINCE = select(SigningKey.__table__.c.compromised_since).where(  # type: ignore[attr-defined]
    SigningKey.__table__.c.kid == bindparam("kid")  # type: ignore[attr-defined]
)
