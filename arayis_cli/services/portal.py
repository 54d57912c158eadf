"""The portal's side of the service over HTTP (``/api/v1``): the same services as the CLI.

Find by the portal's own id, the subscriber's view, document uploads with an
``Idempotency-Key``, and the "Çap et" button (:func:`press_print`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.i18n import _
from arayis_cli.models import ApiIdempotency, Application, Certificate
from arayis_cli.services.documents import Upload
from arayis_cli.validation import parse_external_id

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


def press_print(url: str, app_id: int, *, now: datetime, actor: str) -> Pressed:
    """Çap et, pressed by the subscriber on the portal.

    The debt is checked at this moment on every press (a debt is recorded as a refused
    print and raised as :class:`DebtOutstanding`); then the current certificate's PDF is
    returned if there is one, else a new certificate is issued. The application's row is
    locked first, so concurrent presses are served one after the other and only the first
    issues a certificate. On PostgreSQL the number is taken in a short transaction of its
    own (the counter's lock is not held while the PDF is rendered); a failure after that
    leaves a gap in the numbers, as an interrupted ``print`` does.

    This is the one place the web API prints through: when the register keeps each
    certificate's PDF, the copy comes from there instead of :func:`_reproduce`.
    """
    from arayis_cli.db import session_scope
    from arayis_cli.services.common import baku_date, record_event
    from arayis_cli.services.printing import allocate_number, check_printable, issue_certificate

    with session_scope(url) as session:
        ok = check_printable(session, app_id, now=now, actor=actor)
        current = current_certificate(session, app_id, today=baku_date(now))
        if current is not None:
            pdf = _reproduce(session, current, ok.app, ok.abonent)
            record_event(
                session,
                application_id=app_id,
                at=now,
                actor=actor,
                action="print",
                detail={"certificate_number": current.number, "copy": True, "debt": "0.00"},
            )
            return Pressed(current, pdf, fresh=False)
        year = baku_date(now).year
        if session.get_bind().dialect.name == "postgresql":
            with session_scope(url) as numbering:
                number = allocate_number(numbering, year)
        else:  # SQLite: this transaction already holds the only write lock
            number = allocate_number(session, year)
        issued = issue_certificate(session, app_id, number=number, now=now, actor=actor)
        return Pressed(issued.certificate, issued.pdf, fresh=True)


def current_certificate(session: Session, app_id: int, *, today: date) -> Certificate | None:
    """The application's certificate in force (not revoked, not expired), the latest."""
    return session.execute(
        select(Certificate)
        .where(
            Certificate.application_id == app_id,
            Certificate.revoked_at.is_(None),
            Certificate.valid_until >= today,
        )
        .order_by(Certificate.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _reproduce(session: Session, cert: Certificate, app: Application, abonent: Any) -> bytes:
    """The certificate's PDF rendered again from the register (rendering is deterministic),
    and checked against the SHA-256 the register kept when it was issued."""
    import hashlib

    from arayis_cli.certificate.pdf import CertificateData, render
    from arayis_cli.config import settings
    from arayis_cli.money import from_qepik
    from arayis_cli.validation import mask_fin

    s = settings()
    data = CertificateData(
        organisation=s.organisation,
        number=cert.number,
        issued_at=cert.issued_at,
        valid_until=cert.valid_until,
        application_id=int(app.id or 0),
        submitted_at=app.submitted_at,
        abonent_code=abonent.code,
        group=abonent.group,
        owner_name=abonent.owner_name,
        owner_fin_masked=mask_fin(abonent.owner_fin),
        address=abonent.address,
        balance=from_qepik(cert.balance_qepik),
        operator=cert.operator,
        verify_url=f"{s.verify_url_base}{cert.token}",
        token=cert.token or "",
    )
    pdf = render(data)
    if hashlib.sha256(pdf).hexdigest() != cert.pdf_sha256:
        raise Conflict(
            _(
                "certificate {number} cannot be given again: the abonent's details changed "
                "since it was issued; the office can revoke it so that a new one is printed"
            ).format(number=cert.number)
        )
    return pdf
