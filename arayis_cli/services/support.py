"""Support staff's answers: what the subscriber sees on the portal, why printing is blocked,
and one outbox message in full.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import NotFound
from arayis_cli.formats import fmt_date, fmt_datetime
from arayis_cli.i18n import _
from arayis_cli.models import Abonent, Application, Event, LedgerEntry, OutboxMessage
from arayis_cli.money import money_human
from arayis_cli.services.common import balance, debt_of, get_application
from arayis_cli.workflow import Status

RECENT_LEDGER = 5
PRINT_ACTIONS = ("print", "renew", "print_refused")

# What the portal shows under "Göndərilən müraciətlər" for each status.
PORTAL_NEW = (
    "Əməliyyat uğurla yerinə yetirildi. Müraciətinizin nəticəsi 3 iş günü ərzində email "
    "ünvanınıza göndəriləcək."
)
PORTAL_IN_PROGRESS = (
    "Müraciətiniz icradadır. Nəticə {due_on} tarixinədək email ünvanınıza göndəriləcək."
)
PORTAL_COMPLETED = (
    'Müraciətiniz icra olunub. "Çap et" düyməsi aktivdir: arayışı çap edə bilərsiniz. '
    "Çap zamanı borc yenidən yoxlanılır; borc varsa, əvvəlcə onu ödəyin."
)
PORTAL_REJECTED = "Müraciətiniz ləğv olunub. Səbəb: {reason}"


def portal_message(app: Application) -> str:
    """The message the portal shows the subscriber for the application's status."""
    status = Status(app.status)
    if status is Status.NEW:
        return PORTAL_NEW
    if status is Status.IN_PROGRESS:
        return PORTAL_IN_PROGRESS.format(due_on=fmt_date(app.due_on))
    if status is Status.COMPLETED:
        return PORTAL_COMPLETED
    return PORTAL_REJECTED.format(reason=app.rejection_reason or "—")


@dataclass
class SubscriberView:
    """Müraciətin portalda görünüşü: the application as the subscriber sees it."""

    app: Application
    message: str
    emails: list[OutboxMessage]

    @property
    def print_enabled(self) -> bool:
        return Status(self.app.status) is Status.COMPLETED


def subscriber_view(session: Session, app_id: int) -> SubscriberView:
    app = get_application(session, app_id)
    return SubscriberView(app=app, message=portal_message(app), emails=_emails(session, app_id))


def _emails(session: Session, app_id: int) -> list[OutboxMessage]:
    return list(
        session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.application_id == app_id)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


@dataclass
class PrintAttempt:
    at: datetime
    actor: str
    printed: bool
    debt: str | None
    certificate_number: str | None


@dataclass
class PrintCheck:
    """ "I paid, why can't I print?": the account now and what blocks "Çap et"."""

    balance: Decimal
    debt: Decimal
    ledger: list[LedgerEntry]  # the latest first
    attempts: list[PrintAttempt]
    #: not_completed, rejected, not_group_i, debt, none, valid_certificate, revoked,
    #: expired, key_compromised
    blocker: str
    explanation: str


def print_check(session: Session, app: Application, *, now: datetime) -> PrintCheck:
    """Balance and debt now, the latest ledger entries, every print attempt, and why (or
    whether) printing is blocked at this moment — the same checks ``print`` makes."""
    bal = balance(session, app.abonent_code, as_of=now)
    debt = debt_of(bal)
    ledger = list(
        session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.abonent_code == app.abonent_code)
            .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
            .limit(RECENT_LEDGER)
        ).scalars()
    )
    attempts = [
        _attempt(e)
        for e in session.execute(
            select(Event)
            .where(Event.application_id == app.id, Event.action.in_(PRINT_ACTIONS))
            .order_by(Event.id)
        ).scalars()
    ]
    blocker, explanation = _blocker(session, app, debt=debt, now=now)
    return PrintCheck(bal, debt, ledger, attempts, blocker, explanation)


def _attempt(event: Event) -> PrintAttempt:
    detail: dict[str, Any] = json.loads(event.detail) if event.detail else {}
    return PrintAttempt(
        at=event.at,
        actor=event.actor,
        printed=event.action in ("print", "renew"),
        debt=detail.get("debt"),
        certificate_number=detail.get("certificate_number"),
    )


def debt_warning(debt: Decimal, *, now: datetime) -> str:
    """Xəbərdarlıq: what the subscriber is told when "Çap et" meets a debt (Azerbaijani)."""
    return (
        f"Borc var: {money_human(debt)} ({fmt_datetime(now)} vəziyyətinə). "
        "Ödəniş hesaba düşəndən sonra yenidən çap edin."
    )


def _blocker(
    session: Session, app: Application, *, debt: Decimal, now: datetime
) -> tuple[str, str]:
    status = Status(app.status)
    if status in (Status.NEW, Status.IN_PROGRESS):
        return "not_completed", _(
            "The application is not completed yet ({status_label}): only İcra olunmuş "
            "(completed) applications can be printed."
        ).format(status_label=status.label)
    if status is Status.REJECTED:
        return "rejected", _("The application was rejected: it cannot be printed.")
    abonent = session.get(Abonent, app.abonent_code)
    if abonent is None or abonent.group != "I":
        group = abonent.group if abonent else "—"
        return "not_group_i", _(
            "The abonent is not in group I (group {group}): it cannot be printed."
        ).format(group=group)
    from arayis_cli.services.printing import latest_certificate

    latest = latest_certificate(session, app.id)
    if latest is not None and latest.revoked_at is not None:
        return "revoked", _(
            "Certificate {number} was revoked: only an approver or an administrator may issue "
            "a new one (print {app_id} --renew --reason ...)."
        ).format(number=latest.number, app_id=app.id)
    from arayis_cli.services.printing import unusable

    why = None if latest is None else unusable(session, latest, now=now)
    if latest is not None and why == "expired":
        return "expired", _(
            "Certificate {number} expired on {until}: only an approver or an administrator "
            "may issue a new one (print {app_id} --renew --reason ...)."
        ).format(number=latest.number, until=fmt_date(latest.valid_until), app_id=app.id)
    if latest is not None and why == "key_compromised":
        return "key_compromised", _(
            "Certificate {number} was signed by a key reported stolen: only an approver or an "
            "administrator may issue a new one (print {app_id} --renew --reason ...)."
        ).format(number=latest.number, app_id=app.id)
    if debt > 0:
        return "debt", _(
            "There is a debt of {amount} (as of {when}): print again once the payment has "
            "reached the account."
        ).format(amount=money_human(debt), when=fmt_datetime(now))
    if latest is not None:
        return "valid_certificate", _(
            "A current certificate exists ({number}, until {until}): print {app_id} --copy for "
            "the same certificate, print {app_id} --renew --reason ... for a new one."
        ).format(number=latest.number, until=fmt_date(latest.valid_until), app_id=app.id)
    return "none", _("Nothing stands in the way: it can be printed.")


def outbox_message(session: Session, msg_id: int) -> OutboxMessage:
    msg = session.get(OutboxMessage, msg_id)
    if msg is None:
        raise NotFound(_("outbox message {msg_id} not found").format(msg_id=msg_id))
    return msg
