"""What leaves the program: plain JSON-ready dicts, personal data masked unless asked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from arayis_cli.formats import iso_baku, iso_day
from arayis_cli.money import from_qepik, money_json
from arayis_cli.services.audit import note_pii
from arayis_cli.validation import BAKU, mask_email, mask_fin, mask_phone
from arayis_cli.workflow import OPEN_STATUSES, Status

if TYPE_CHECKING:
    from arayis_cli.models import (
        Abonent,
        Application,
        Certificate,
        CertificateVerification,
        Document,
        Event,
        OutboxMessage,
    )


def document_json(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "kind": doc.kind,
        "filename": doc.filename,
        "media_type": doc.media_type,
        "size": doc.size,
        "sha256": doc.sha256,
    }


def application_json(
    app: Application, documents: Sequence[Any], *, today: date, show_pii: bool
) -> dict[str, Any]:
    """One application as JSON (``show``); ``list`` streams rows through the same fields."""
    fields = application_fields(_columns_of(app), today=today.isoformat(), show_pii=show_pii)
    return application_record(fields, documents)


#: The columns :func:`application_fields` reads, in this order (``list`` selects them so).
APPLICATION_ROW = (
    "id",
    "abonent_code",
    "status",
    "fin",
    "phone",
    "email",
    "channel",
    "external_id",
    "operator",
    "rejection_reason",
    "override_reason",
    "submitted_at",
    "due_on",
    "decided_at",
)
#: The fields of an application's JSON object, documents apart, in this order.
APPLICATION_FIELDS = (
    "id",
    "abonent_code",
    "status",
    "status_label",
    "fin",
    "phone",
    "email",
    "channel",
    "external_id",
    "submitted_at",
    "due_on",
    "overdue",
    "operator",
    "rejection_reason",
    "override_reason",
    "decided_at",
)
_columns_of = attrgetter(*APPLICATION_ROW)
_LABELS: dict[str, str] = {s.value: s.label for s in Status}
_OPEN = frozenset(s.value for s in OPEN_STATUSES)


def application_fields(row: Sequence[Any], *, today: str, show_pii: bool) -> tuple[Any, ...]:
    """:data:`APPLICATION_FIELDS` of one application given as its ``APPLICATION_ROW``
    values (dates as datetimes or SQLite's stored text); ``today`` is an ISO day.

    Kept to plain tuple work: ``list`` calls it once per row, a million times.
    """
    (
        app_id,
        code,
        status,
        fin,
        phone,
        email,
        channel,
        external_id,
        operator,
        rejection,
        override,
        submitted,
        due,
        decided,
    ) = row
    label = _LABELS.get(status)
    if label is None:
        label = Status(status).label  # refuses an unknown status as the enum does
    if show_pii:
        note_pii(application_id=app_id)
    else:
        fin, phone, email = mask_fin(fin), mask_phone(phone), mask_email(email)
    due = iso_day(due)
    return (
        app_id,
        code,
        status,
        label,
        fin,
        phone,
        email,
        channel,
        external_id,
        iso_baku(submitted),
        due,
        # ISO days compare as text: overdue = still open after its due day has ended.
        status in _OPEN and due < today,
        operator,
        rejection,
        override,
        iso_baku(decided),
    )


def application_record(fields: Sequence[Any], documents: Sequence[Any]) -> dict[str, Any]:
    """The JSON object of :func:`application_fields` and the application's documents."""
    record = dict(zip(APPLICATION_FIELDS, fields, strict=True))
    record["documents"] = [document_json(d) for d in documents]
    return record


def event_json(event: Event) -> dict[str, Any]:
    return {
        "at": iso_baku(event.at),
        "actor": event.actor,
        "operator": event.operator_name or event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "detail": json.loads(event.detail) if event.detail else None,
    }


def outbox_json(msg: OutboxMessage, *, show_pii: bool) -> dict[str, Any]:
    if show_pii:
        note_pii(application_id=msg.application_id)
    return {
        "id": msg.id,
        "application_id": msg.application_id,
        "kind": msg.kind,
        "to": msg.to_addr if show_pii else mask_email(msg.to_addr),
        "subject": msg.subject,
        "status": msg.status,
        "attempts": msg.attempts,
        "last_error": msg.last_error,
        "created_at": iso_baku(msg.created_at),
        "next_attempt_at": iso_baku(msg.next_attempt_at) if msg.status == "pending" else None,
        "sent_at": iso_baku(msg.sent_at),
        "message_id": msg.message_id,
    }


def certificate_json(cert: Certificate) -> dict[str, Any]:
    return {
        "certificate_number": cert.number,
        "application_id": cert.application_id,
        "issued_at": iso_baku(cert.issued_at),
        "valid_until": cert.valid_until.isoformat(),
        "balance": money_json(from_qepik(cert.balance_qepik)),
        "operator": cert.operator,
        "sha256": cert.pdf_sha256,
        # null while the certificate stands.
        "revoked_at": iso_baku(cert.revoked_at),
        "revocation_reason": cert.revoked_reason,
        # Null while the certificate is current; a renewal names the newer one.
        "superseded_at": iso_baku(cert.superseded_at),
        "superseded_by": cert.superseded_by,
    }


def api_call_json(call: Any) -> dict[str, Any]:
    """One call of the portal API about an application (``show``)."""
    return {
        "at": iso_baku(call.at),
        "client": call.client,
        "method": call.method,
        "route": call.route,
        "status": call.status,
        "outcome": call.outcome,
    }


def verification_json(number: str, check: CertificateVerification) -> dict[str, Any]:
    """One recorded verification (show's ``verifications``)."""
    return {
        "certificate_number": number,
        "at": iso_baku(check.at),
        "verdict": check.verdict,
        "channel": check.channel,
        "evidence": check.evidence,
    }


def abonent_json(abonent: Abonent, *, show_pii: bool) -> dict[str, Any]:
    if show_pii:
        note_pii(abonent_code=abonent.code)
    return {
        "code": abonent.code,
        "group": abonent.group,
        "owner_name": abonent.owner_name,
        "owner_fin": abonent.owner_fin if show_pii else mask_fin(abonent.owner_fin),
        "address": abonent.address,
    }


def change_json(
    cursor: int, application_id: int, external_id: str | None, status: str, at: Any
) -> dict[str, Any]:
    """One entry of the portal's feed (``changes``)."""
    code = Status(status)
    return {
        "cursor": cursor,
        "application_id": application_id,
        "external_id": external_id,
        "status": code.value,
        "status_label": code.label,
        "print_enabled": code is Status.COMPLETED,
        "at": iso_baku(at),
    }


def subscriber_json(view: Any) -> dict[str, Any]:
    """``show --as-subscriber``: the application as the portal shows it (no personal data)."""
    status = Status(view.app.status)
    return {
        "application_id": view.app.id,
        "status_label": status.label,
        "print_enabled": view.print_enabled,
        "message": view.message,
        "emails": [
            {
                "kind": m.kind,
                "subject": m.subject,
                "body_text": m.body,
                "status": m.status,
                "sent_at": iso_baku(m.sent_at),
            }
            for m in view.emails
        ],
    }


def print_check_json(check: Any) -> dict[str, Any]:
    """The keys ``show`` adds for "I paid, why can't I print?"."""
    return {
        "balance": money_json(check.balance),
        "debt": money_json(check.debt),
        "recent_ledger": [
            {
                "date": e.entry_date.isoformat(),
                "kind": e.kind,
                "amount": money_json(from_qepik(e.amount_qepik)),
                "reference": e.reference,
            }
            for e in check.ledger
        ],
        "print_attempts": [
            {
                "at": iso_baku(a.at),
                "actor": a.actor,
                "printed": a.printed,
                "debt": a.debt,
                "certificate_number": a.certificate_number,
            }
            for a in check.attempts
        ],
        "print_blocker": {"code": check.blocker, "message": check.explanation},
    }


def outbox_message_json(
    msg: OutboxMessage, *, show_pii: bool, sender: str | None
) -> dict[str, Any]:
    """``outbox show``: one email in full, its headers as sent (or as they will be)."""
    from email.utils import format_datetime

    data = outbox_json(msg, show_pii=show_pii)
    data["headers"] = {
        "From": sender,
        "To": data["to"],
        "Subject": msg.subject,
        "Date": format_datetime(msg.sent_at.astimezone(BAKU)) if msg.sent_at else None,
        "Message-ID": msg.message_id,
    }
    data["body_text"] = msg.body
    data["claimed_at"] = iso_baku(msg.claimed_at)
    data["claimed_by"] = msg.claimed_by
    return data
