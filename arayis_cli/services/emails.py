"""Emails to the subscriber (Azerbaijani), queued in the outbox in the same transaction
as the decision that caused them. Delivery is :mod:`arayis_cli.services.outbox`.
"""

from __future__ import annotations

import string
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from arayis_cli.models import Application, OutboxMessage

KINDS = ("received", "approved_no_debt", "approved_debt", "rejected")

_SIGNATURE = "\n\nHörmətlə,\n${organisation}\n"

TEMPLATES: dict[str, tuple[str, str]] = {
    "received": (
        "Müraciət №${app_id} qeydiyyata alındı",
        "Hörmətli abonent,\n\n"
        "Əməliyyat uğurla yerinə yetirildi. ${abonent_code} abonent kodu üzrə borcun "
        "olmaması haqqında arayış almaq üçün müraciətiniz №${app_id} ${submitted_at} "
        "tarixində qeydiyyata alındı.\n\n"
        "Müraciətinizin nəticəsi ${result_by} email ünvanınıza göndəriləcək." + _SIGNATURE,
    ),
    "rejected": (
        "Müraciət №${app_id}: sənədlər qəbul edilmədi (Ləğv olunmuş)",
        "Hörmətli abonent,\n\n"
        "${abonent_code} abonent kodu üzrə müraciətiniz №${app_id} təqdim olunmuş "
        "sənədlərdə uyğunsuzluq olduğuna görə qəbul edilmədi.\n\n"
        "Səbəb: ${reason}\n\n"
        "Sənədləri düzəldib yeni müraciət göndərə bilərsiniz." + _SIGNATURE,
    ),
    "approved_no_debt": (
        "Müraciət №${app_id} icra olundu: arayışınız hazırdır",
        "Hörmətli abonent,\n\n"
        "${abonent_code} abonent kodu üzrə müraciətiniz №${app_id} icra olundu. "
        "${checked_at} tarixinə su təchizatı və tullantı sularının axıdılması "
        "xidmətlərindən istifadəyə görə borcunuz yoxdur.\n\n"
        'Arayışı "Göndərilən müraciətlər" bölməsində "Çap et" düyməsi ilə əldə edə '
        "bilərsiniz. Çap zamanı borc yenidən yoxlanılır." + _SIGNATURE,
    ),
    "approved_debt": (
        "Müraciət №${app_id} icra olundu: əvvəlcə borcu ödəyin",
        "Hörmətli abonent,\n\n"
        "${abonent_code} abonent kodu üzrə müraciətiniz №${app_id} icra olundu, lakin "
        "${checked_at} tarixinə su təchizatı və tullantı sularının axıdılması "
        "xidmətlərindən istifadəyə görə ${debt} borcunuz var.\n\n"
        "Arayışı almaq üçün əvvəlcə borcu ödəyin (bildiriş-fakturadakı abonent kodu ilə "
        "ödəniş terminalları, bank və ya www.e-gov.az vasitəsilə), sonra "
        '"Göndərilən müraciətlər" bölməsində "Çap et" düyməsini yenidən seçin. '
        "Çap zamanı borc yenidən yoxlanılır." + _SIGNATURE,
    ),
}


def result_by(due_on: date, today: date) -> str:
    """When the confirmation email promises the result: by the due day, or — for an
    application registered late (backdated with --submitted-at, its due day already past)
    — as soon as possible, never a date that has gone by."""
    from arayis_cli.formats import fmt_date

    if due_on >= today:
        return f"3 iş günü ərzində ({fmt_date(due_on)} tarixinədək)"
    return "ən qısa müddətdə"


def render(kind: str, values: dict[str, Any]) -> tuple[str, str]:
    """Subject and body; a missing value raises KeyError (a bug, never a half-filled email):
    ``values`` hold the ``organisation`` too (the caller's, from its run's settings)."""
    subject, body = TEMPLATES[kind]
    return _fill(subject, values), _fill(body, values)


def _fill(template: str, values: dict[str, Any]) -> str:
    """``string.Template(template).substitute(values)``, with the template split once per
    process (a bulk import renders a thousand emails a chunk)."""
    literals, names = _split(template)
    parts = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        parts.append(str(values[name]))
        parts.append(literal)
    return "".join(parts)


@lru_cache(maxsize=64)
def _split(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A template's literal text around its placeholders (one more literal than names)."""
    literals, names = [], []
    start, text = 0, []
    for match in string.Template.pattern.finditer(template):
        text.append(template[start : match.start()])
        start = match.end()
        if match.group("escaped") is not None:
            text.append("$")
        elif match.group("named") or match.group("braced"):
            literals.append("".join(text))
            names.append(match.group("named") or match.group("braced"))
            text = []
        else:
            raise ValueError(f"invalid placeholder in template: {template[match.start() :][:20]!r}")
    text.append(template[start:])
    literals.append("".join(text))
    return tuple(literals), tuple(names)


def email_row(
    *, application_id: int, abonent_code: str, to_addr: str, kind: str, now: datetime, **values: Any
) -> dict[str, Any]:
    """One outbox row's values, due at once: for :func:`queue_email` and bulk inserts alike."""
    from arayis_cli.certificate.signing import in_demo

    subject, body = render(kind, {"app_id": application_id, "abonent_code": abonent_code, **values})
    if in_demo():  # the demo's sandbox: a sample that must never pass for a real email
        subject = f"NÜMUNƏ — etibarsızdır: {subject}"
    return {
        "application_id": application_id,
        "kind": kind,
        "to_addr": to_addr,
        "subject": subject,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def queue_email(
    session: Session, app: Application, kind: str, *, now: datetime, **values: Any
) -> OutboxMessage:
    if app.id is None:  # not flushed: the email would point at no application
        raise ValueError("queue_email needs a stored application")
    message = OutboxMessage(
        **email_row(
            application_id=app.id,
            abonent_code=app.abonent_code,
            to_addr=app.email,
            kind=kind,
            now=now,
            **values,
        )
    )
    session.add(message)
    return message
