"""The portal's side of the service over HTTP (``/api/v1``): the same services as the CLI.

Find by the portal's own id, the subscriber's view, document uploads with an
``Idempotency-Key``, and the "Çap et" button (:func:`press_print`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakValueDictionary

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.db import WriteTurns
from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.i18n import _
from arayis_cli.models import ApiIdempotency, Application, Certificate
from arayis_cli.services.documents import Upload
from arayis_cli.validation import parse_external_id

if TYPE_CHECKING:
    from arayis_cli.services import Sessions
    from arayis_cli.services.printing import Issuer, Printable

#: At most this many files in one upload (the seed needs two or three).
MAX_UPLOAD_FILES = 10


def by_external_id(session: Session, external_id: str) -> int:
    """The application registered under the portal's own id."""
    value = parse_external_id(external_id)
    if value is None:
        raise InvalidInput(_("external id must be printable ASCII, at most 100 characters"))
    found = session.execute(
        select(Application.id).where(Application.external_id == value)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(_("no application with external id {value}").format(value=value))
    return int(found)


def subscriber_document(session: Session, app_id: int) -> dict[str, Any]:
    """``show --as-subscriber`` plus ``id``, ``status``, ``external_id`` and ``due_on``.

    Two precompiled Core statements rather than ORM objects: the portal polls this for
    every application on its list, and the ORM's per-row work was most of the cost.
    """
    from arayis_cli.present import subscriber_json
    from arayis_cli.services.common import STORED_ID_MAX
    from arayis_cli.services.support import SubscriberView, portal_message

    if not 1 <= app_id <= STORED_ID_MAX:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    conn = session.connection()
    app = conn.execute(_APPLICATION_ROW, {"id": app_id}).first()
    if app is None:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    emails = list(conn.execute(_EMAIL_ROWS, {"id": app_id}))
    view = SubscriberView(app=app, message=portal_message(app), emails=emails)  # type: ignore[arg-type]
    return {
        "id": app.id,
        "external_id": app.external_id,
        "status": app.status,
        "due_on": app.due_on.isoformat(),
        **subscriber_json(view),
    }


def _statements() -> tuple[Any, Any]:
    from sqlalchemy import bindparam

    from arayis_cli.models import OutboxMessage

    app = Application.__table__.c  # type: ignore[attr-defined]
    mail = OutboxMessage.__table__.c  # type: ignore[attr-defined]
    one = select(app.id, app.external_id, app.status, app.due_on, app.rejection_reason).where(
        app.id == bindparam("id")
    )
    emails = (
        select(mail.kind, mail.subject, mail.body, mail.status, mail.sent_at)
        .where(mail.application_id == bindparam("id"))
        .order_by(mail.id)
    )
    return one, emails


_APPLICATION_ROW, _EMAIL_ROWS = _statements()


def documents_document(session: Session, app_id: int, added: int) -> dict[str, Any]:
    from arayis_cli.present import document_json
    from arayis_cli.services.queries import documents_of

    docs = documents_of(session, [app_id]).get(app_id, [])
    return {"application_id": app_id, "added": added, "documents": [document_json(d) for d in docs]}


def attach_pairs(
    session: Session,
    app_id: int,
    pairs: list[tuple[str, Upload]],
    *,
    client: str,
    idempotency_key: str | None,
    request_sha256: str,
    now: datetime,
    actor: str,
) -> tuple[dict[str, Any], bool]:
    """Store every (kind, file) pair or none, as ``attach`` does for each kind; returns
    the stored documents and whether this was a replay of an earlier ``Idempotency-Key``
    (then nothing is stored again and the first answer is returned)."""
    from arayis_cli.services.documents import attach

    if idempotency_key is not None:
        done = session.get(ApiIdempotency, (client, idempotency_key))
        if done is not None:
            if done.request_sha256 != request_sha256 or done.application_id != app_id:
                raise Conflict(
                    _("Idempotency-Key {key} was used for another request").format(
                        key=idempotency_key
                    )
                )
            return json.loads(done.response), True
    added = 0
    kinds = list(dict.fromkeys(kind for kind, _upload in pairs))
    for kind in kinds:
        uploads = [upload for k, upload in pairs if k == kind]
        added += attach(session, app_id=app_id, uploads=uploads, kind=kind, now=now, actor=actor)[1]
    answer = documents_document(session, app_id, added)
    if idempotency_key is not None:
        session.add(
            ApiIdempotency(
                client=client,
                key=idempotency_key,
                application_id=app_id,
                request_sha256=request_sha256,
                response=json.dumps(answer, ensure_ascii=False),
                created_at=now,
            )
        )
        session.flush()  # a concurrent replay of the same key fails here (primary key)
    return answer, False


@dataclass(frozen=True)
class Pressed:
    """What one press of "Çap et" gave: the certificate and its PDF; ``fresh`` when it was
    issued by this press (else it is the current certificate, as ``print --copy``)."""

    certificate: Certificate
    pdf: bytes
    fresh: bool


def press_print(
    sessions: Sessions,
    app_id: int,
    *,
    now: datetime,
    actor: str,
    issuer: Issuer,
    turns: WriteTurns,
) -> Pressed:
    """Çap et, pressed by the subscriber on the portal.

    The debt is checked at this moment on every press (a debt is recorded as a refused
    print and raised as :class:`DebtOutstanding`). Then the application's current
    certificate is handed out again — the very bytes the register kept, as ``print
    --copy`` does — or, when it has none, a new one is issued (a revoked one is refused:
    only the office renews it).

    The press checks under the application's lock (PostgreSQL ``FOR UPDATE``; SQLite's
    write lock) and, when the application has a current certificate, records its hand-out
    in that same transaction; otherwise it takes the number, committed on its own (spent
    from here on: a failure later leaves a gap, as an interrupted ``print`` does), draws
    the PDF holding no lock, then checks again under lock and registers it with its bytes.
    If what the certificate shows changed in between (a payment, the responsible person's
    name) it is drawn again; if another process registered one first, that certificate is
    handed out instead, and this number stays a gap.

    On SQLite the write lock is the whole database's, one process at a time, so what a
    press does while writing is kept short, in ``turns`` (one writer at a time, see
    :class:`~arayis_cli.db.WriteTurns`), and the rest is done first, without it, in a
    read-only transaction (:func:`_look`): the current certificate's bytes are read there,
    and a new one is checked there before its number is taken (a refusal is decided again
    under lock, where it is recorded).

    At most :data:`PRESSES_AT_ONCE` presses run at once in a process (the others wait, first
    come first served). Presses of one application in this process wait for each other, so a
    double click spends one number; across processes the check in step 3 (and the register's
    one-current-certificate index behind it) keeps it to one certificate.

    ``sessions``: the web worker's session factory (each step is its own transaction; a
    debt's evidence is kept: :func:`~arayis_cli.services.printing.keeping_refusal`);
    ``issuer``: what the certificate is issued with (the worker's settings).
    This is the one place the web API prints through.
    """
    from arayis_cli.certificate.pdf import render
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.printing import (
        Printable,
        allocate_number,
        check_printable,
        keeping_refusal,
        register_certificate,
        sign_checked,
    )

    with _press_slots, _one_press_at_a_time(app_id):
        looked = None  # PostgreSQL locks rows, not the database: all of it under the lock
        if turns.sqlite:
            looked = _look(sessions, app_id, now=now, actor=actor, issuer=issuer)
        if not isinstance(looked, Printable):  # decided under lock: the debt at this moment
            with turns(), keeping_refusal(sessions) as session:
                ok = check_printable(
                    session, app_id, now=now, actor=actor, issuer=issuer, renew=None
                )
                if ok.previous is not None:
                    if isinstance(looked, Pressed) and looked.certificate.id == ok.previous.id:
                        _record_copy(session, looked.certificate, now=now, actor=actor)
                        return looked  # its bytes, read without the lock
                    return _hand_out(session, ok.previous, now=now, actor=actor)
                number = allocate_number(session, baku_date(now).year)
        else:
            ok = looked
            with turns(), sessions() as session:
                number = allocate_number(session, baku_date(now).year)
        drawn_from = ok
        signed = sign_checked(ok, number=number, now=now, actor=actor)
        pdf = render(signed.data)
        with turns(), keeping_refusal(sessions) as session:
            ok = check_printable(session, app_id, now=now, actor=actor, issuer=issuer, renew=None)
            if ok.previous is not None:  # another process's press registered one first
                return _hand_out(session, ok.previous, now=now, actor=actor)
            if not _same_certificate(ok, drawn_from):  # what it shows changed meanwhile
                signed = sign_checked(ok, number=number, now=now, actor=actor)
                pdf = render(signed.data)
            issued = register_certificate(session, signed, pdf)
            return Pressed(issued.certificate, issued.pdf, fresh=True)


def _same_certificate(now: Printable, drawn: Printable) -> bool:
    """The check under lock found what the certificate was drawn from: the same
    application, abonent, balance, responsible person, terms and key (an Ed25519 signature
    of the same content is the same bytes), so it is the same certificate, signed and drawn."""
    return (
        now.app == drawn.app
        and now.abonent == drawn.abonent
        and now.balance == drawn.balance
        and now.who == drawn.who
        and now.issuer == drawn.issuer
        and now.signer is not None
        and drawn.signer is not None
        and now.signer.kid == drawn.signer.kid
    )


def _look(
    sessions: Sessions, app_id: int, *, now: datetime, actor: str, issuer: Issuer
) -> Printable | Pressed | None:
    """SQLite: what can be done before the write lock, in a read-only transaction (the
    connection refuses writes while it looks): the current certificate's registered bytes
    (:class:`Pressed`, its hand-out not yet checked or recorded); else the check of a new
    one (:class:`Printable`, checked again under lock before it is registered); or None
    when only the lock can decide (a refusal, recorded there; a key to register)."""
    from sqlalchemy.exc import OperationalError

    from arayis_cli.errors import ArayisError
    from arayis_cli.services.printing import (
        check_printable,
        current_certificate_id,
        registered_copy,
    )

    try:
        with sessions(write=False) as session:
            conn = session.connection()
            conn.exec_driver_sql("PRAGMA query_only = ON")
            try:
                current = current_certificate_id(session, app_id)
                if current is not None:
                    certificate = session.get(Certificate, current)
                    if certificate is None:
                        return None
                    copy = registered_copy(session, certificate)
                    session.expunge_all()
                    return Pressed(copy.certificate, copy.pdf, fresh=False)
                ok = check_printable(
                    session,
                    app_id,
                    now=now,
                    actor=actor,
                    issuer=issuer,
                    renew=None,
                    evidence=False,
                )
                session.expunge_all()
                return ok
            finally:
                conn.exec_driver_sql("PRAGMA query_only = OFF")
    except (ArayisError, OperationalError):
        return None


class _Rehearsed(Exception):
    """Ends :func:`rehearse`'s transaction by rolling it back."""


def rehearse(sessions: Sessions, turns: WriteTurns, *, now: datetime, issuer: Issuer) -> None:
    """A whole press, rolled back: a web worker runs it as it starts, so that the
    statements of a press are compiled before its first subscriber presses (≈ 18 ms of the
    first press on each worker otherwise, which the burst behind it waited for).

    A temporary abonent and completed application are checked, numbered, registered and
    handed out in one transaction that is never committed: nothing is written, no number
    spent. SQLite only, and only with the terminal's key already made and in a file: a
    rehearsal makes no key and signs with no token (PostgreSQL would also spend sequence
    values, and its portal login may not add abonents). Best effort: a failure leaves the
    compiling to the first press.
    """
    from arayis_cli.certificate import pkcs11
    from arayis_cli.certificate.signing import configured_key, current_signer
    from arayis_cli.models import Abonent
    from arayis_cli.services.common import baku_date, balance
    from arayis_cli.services.printing import (
        allocate_number,
        check_printable,
        register_certificate,
        registered_copy,
        sign_checked,
    )

    if not turns.sqlite:
        return
    configured = configured_key(issuer.keys)
    if configured is not None and pkcs11.is_uri(configured):
        return
    if current_signer(issuer.keys, create=False) is None:
        return
    code = "rehearsal"
    try:
        with turns(), sessions() as session:
            session.add(
                Abonent(
                    code=code,
                    group="I",
                    owner_name="Rehearsal",
                    owner_fin="0000000",
                    address="-",
                    created_at=now,
                )
            )
            app = Application(
                abonent_code=code,
                fin="0000000",
                phone="-",
                email="-",
                channel="portal",
                submitted_at=now,
                due_on=baku_date(now),
                status="completed",
                decided_at=now,
                created_by="rehearsal",
            )
            session.add(app)
            session.flush()
            app_id = int(app.id or 0)
            balance(session, code, as_of=now)
            ok = check_printable(session, app_id, now=now, actor=code, issuer=issuer, renew=None)
            number = allocate_number(session, baku_date(now).year)
            signed = sign_checked(ok, number=number, now=now, actor=code)
            register_certificate(session, signed, b"%PDF-rehearsal")
            ok = check_printable(session, app_id, now=now, actor=code, issuer=issuer, renew=None)
            if ok.previous is not None:
                copy = registered_copy(session, ok.previous)
                _record_copy(session, copy.certificate, now=now, actor=code)
            raise _Rehearsed
    except Exception:  # _Rehearsed: rolled back, as every refusal is
        return


def _record_copy(session: Session, current: Certificate, *, now: datetime, actor: str) -> None:
    """The hand-out of the current certificate in its application's history (a print of a
    copy: no debt at this press)."""
    from arayis_cli.services.common import insert_event

    insert_event(
        session,
        application_id=current.application_id,
        at=now,
        actor=actor,
        action="print",
        detail={"certificate_number": current.number, "copy": True, "debt": "0.00"},
    )


def _hand_out(session: Session, current: Certificate, *, now: datetime, actor: str) -> Pressed:
    """The current certificate again (its debt checked: none), recorded as a print of a copy."""
    from arayis_cli.services.printing import registered_copy

    copy = registered_copy(session, current)
    _record_copy(session, copy.certificate, now=now, actor=actor)
    return Pressed(copy.certificate, copy.pdf, fresh=False)


#: Presses under way at once in this process; the rest wait their turn, first come first
#: served. Threads of one process only take turns for the interpreter, at a cost: with the
#: writes in short turns, one at a time per worker was the cheapest and the quickest (a
#: burst of 50 on two workers, three alternating runs each: p99 239–312 ms at one,
#: 267–342 ms at two; 50 presses from 50 threads: ≈ 10–20 % more CPU than from 2).
PRESSES_AT_ONCE = 1
_press_slots = threading.BoundedSemaphore(PRESSES_AT_ONCE)


_presses: WeakValueDictionary[int, Any] = WeakValueDictionary()
_presses_guard = threading.Lock()


@contextmanager
def _one_press_at_a_time(app_id: int) -> Iterator[None]:
    """Presses of one application in this process, one after the other (others run on)."""
    with _presses_guard:
        lock = _presses.get(app_id)
        if lock is None:
            lock = _presses[app_id] = threading.Lock()
    with lock:
        yield
