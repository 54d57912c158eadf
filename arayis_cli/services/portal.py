"""The portal's side of the service over HTTP (``/api/v1``): the same services as the CLI.

Find by the portal's own id, the subscriber's view, document uploads with an
``Idempotency-Key``, and the "Çap et" button (:func:`press_print`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
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
    print and raised as :class:`DebtOutstanding`). Then the application's current
    certificate is handed out again — the very bytes the register kept, as ``print
    --copy`` does — or, when it has none, a new certificate is issued (a revoked one is
    refused: only the office renews it). The application's row is locked first, so
    concurrent presses are served one after the other and only the first issues; the
    register's one-current-certificate index is the last line behind that. On PostgreSQL
    the number is taken in a short transaction of its own, so the counter's lock is not
    held while the PDF is rendered (a failure after that leaves a gap in the numbers, as
    an interrupted ``print`` does).

    This is the one place the web API prints through.
    """
    from arayis_cli.db import session_scope
    from arayis_cli.services.common import baku_date, get_application, record_event
    from arayis_cli.services.printing import (
        allocate_number,
        check_printable,
        copy_certificate,
        issue_certificate,
        latest_certificate,
    )

    with session_scope(url) as session:
        get_application(session, app_id, for_update=True)
        latest = latest_certificate(session, app_id)
        if latest is not None and latest.revoked_at is None and latest.superseded_at is None:
            # The register's check passes with the current certificate in place (as for a
            # renewal); the debt is checked, and a refusal recorded, all the same.
            check_printable(session, app_id, now=now, actor=actor, renew=True)
            copy = copy_certificate(session, app_id)
            record_event(
                session,
                application_id=app_id,
                at=now,
                actor=actor,
                action="print",
                detail={
                    "certificate_number": copy.certificate.number,
                    "copy": True,
                    "debt": "0.00",
                },
            )
            return Pressed(copy.certificate, copy.pdf, fresh=False)
        check_printable(session, app_id, now=now, actor=actor)
        year = baku_date(now).year
        if session.get_bind().dialect.name == "postgresql":
            with session_scope(url) as numbering:
                number = allocate_number(numbering, year)
        else:  # SQLite: this transaction already holds the only write lock
            number = allocate_number(session, year)
        issued = issue_certificate(session, app_id, number=number, now=now, actor=actor)
        return Pressed(issued.certificate, issued.pdf, fresh=True)
