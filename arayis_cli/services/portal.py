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

from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.i18n import _
from arayis_cli.models import ApiIdempotency, Application, Certificate
from arayis_cli.services.documents import Upload
from arayis_cli.validation import parse_external_id

if TYPE_CHECKING:
    from arayis_cli.services import Sessions
    from arayis_cli.services.printing import Issuer

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
    one_writer: bool,
) -> Pressed:
    """Çap et, pressed by the subscriber on the portal.

    The debt is checked at this moment on every press (a debt is recorded as a refused
    print and raised as :class:`DebtOutstanding`). Then the application's current
    certificate is handed out again — the very bytes the register kept, as ``print
    --copy`` does — or, when it has none, a new one is issued (a revoked one is refused:
    only the office renews it).

    A new certificate is issued as ``print`` into a file does it, so that no lock is held
    while its PDF is drawn (on SQLite the write lock is the whole database's):

    1. under the application's lock: check (debt, register, key), take the number, sign;
       committed (the number is spent from here on: a failure later leaves a gap);
    2. draw the PDF, holding no lock;
    3. under the lock again: check again and register it with its bytes. If what the
       certificate shows changed in between (a payment, the responsible person's name) it is
       drawn again; if another process's press of the same application registered one
       first, that certificate is handed out instead, and this number stays a gap.

    At most :data:`PRESSES_AT_ONCE` presses run at once in a process (the others wait, first
    come first served). Presses of one application in this process wait for each other, so a
    double click spends one number; across processes the check in step 3 (and the register's
    one-current-certificate index behind it) keeps it to one certificate.

    ``sessions``: the web worker's session factory (each step is its own transaction; a
    debt's evidence is kept: :func:`~arayis_cli.services.printing.keeping_refusal`);
    ``issuer``: what the certificate is issued with (the worker's settings);
    ``one_writer``: the database takes one writer at a time (SQLite).

    This is the one place the web API prints through.
    """
    from arayis_cli.certificate.pdf import render
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.printing import (
        allocate_number,
        check_printable,
        keeping_refusal,
        register_certificate,
        sign_checked,
    )

    with _press_slots, _one_press_at_a_time(app_id):
        with _writer_turn(one_writer), keeping_refusal(sessions) as session:
            ok = check_printable(session, app_id, now=now, actor=actor, issuer=issuer, renew=None)
            if ok.previous is not None:
                return _hand_out(session, ok.previous, now=now, actor=actor)
            number = allocate_number(session, baku_date(now).year)
            signed = sign_checked(ok, number=number, now=now, actor=actor)
        pdf = render(signed.data)
        with _writer_turn(one_writer), keeping_refusal(sessions) as session:
            ok = check_printable(session, app_id, now=now, actor=actor, issuer=issuer, renew=None)
            if ok.previous is not None:  # another process's press registered one first
                return _hand_out(session, ok.previous, now=now, actor=actor)
            again = sign_checked(ok, number=number, now=now, actor=actor)
            if again.data != signed.data:  # something it shows changed: draw it again
                pdf = render(again.data)
            issued = register_certificate(session, again, pdf)
            return Pressed(issued.certificate, issued.pdf, fresh=True)


def _hand_out(session: Session, current: Certificate, *, now: datetime, actor: str) -> Pressed:
    """The current certificate again (its debt checked: none), recorded as a print of a copy."""
    from arayis_cli.services.common import record_event
    from arayis_cli.services.printing import registered_copy

    copy = registered_copy(session, current)
    record_event(
        session,
        application_id=current.application_id,
        at=now,
        actor=actor,
        action="print",
        detail={"certificate_number": copy.certificate.number, "copy": True, "debt": "0.00"},
    )
    return Pressed(copy.certificate, copy.pdf, fresh=False)


#: Presses under way at once in this process: one can draw its PDF while another is in the
#: database; the rest wait their turn. More threads only take turns for the interpreter,
#: at a cost (50 presses from 50 threads: ≈ 10–20 % more CPU than from 2).
PRESSES_AT_ONCE = 2
_press_slots = threading.BoundedSemaphore(PRESSES_AT_ONCE)

#: SQLite: this process's write transactions of "Çap et" take turns here first.
_sqlite_writer = threading.Lock()


@contextmanager
def _writer_turn(one_writer: bool) -> Iterator[None]:
    """On SQLite, one "Çap et" transaction of this process at a time asks for the database's
    write lock: the others wait on this lock, which wakes the next one the moment it is
    free, instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms while
    the file is locked and so stretched a burst of presses by far more than their work.
    PostgreSQL locks rows, not the database: no turn is needed."""
    if not one_writer:
        yield
        return
    with _sqlite_writer:
        yield


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
