"""Decisions: review (take into work), reject, approve — through one transition function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from arayis_cli.errors import Conflict, NotFound
from arayis_cli.formats import fmt_datetime
from arayis_cli.i18n import N_, _, az, gettext
from arayis_cli.models import Abonent, Application, Document
from arayis_cli.money import money_human, money_json
from arayis_cli.services import Terms, changes, tally
from arayis_cli.services.common import (
    balance,
    database_writes_history,
    debt_of,
    get_application,
    record_event,
    status_context,
)
from arayis_cli.services.emails import queue_email
from arayis_cli.services.policy import check_four_eyes
from arayis_cli.validation import clean_text
from arayis_cli.workflow import (
    CHECKLIST,
    REQUIRED_DOCUMENT_KINDS,
    Action,
    Status,
    decision_email,
    require,
)

#: The required documents and their checklist texts (msgids, from the workflow's facts).
REQUIRED_DOCUMENTS = {kind: CHECKLIST[kind] for kind in REQUIRED_DOCUMENT_KINDS}
#: Why an item failed, as a refusal and the history say it (msgids; the history keeps the
#: English text, a refusal speaks the operator's language).
FAILURES = {
    "fin_matches_owner": N_("FIN does not match the owner on record"),
    "id-card": N_("id-card document missing"),
    "ownership": N_("ownership document missing"),
}


def transition(
    session: Session,
    app: Application,
    action: Action,
    *,
    now: datetime,
    actor: str,
    values: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> Application:
    """Apply one move of the transition table, with its history row, in this transaction.

    The UPDATE is conditional on the status and version read: if another operator changed
    the application first, nothing is written and :class:`Conflict` is raised.
    """
    current = Status(app.status)
    target = require(current, action, app_id=app.id)
    by_database = database_writes_history(session)
    if by_database:
        status_context(session, at=now, actor=actor, detail=detail)
    result = session.execute(
        update(Application)
        .where(
            Application.id == app.id,
            Application.status == current.value,
            Application.version == app.version,
        )
        .values(status=target.value, version=app.version + 1, operator=actor, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            _("application {app_id} was changed by another operator; look at it again").format(
                app_id=app.id
            )
        )
    session.refresh(app)
    if by_database:  # history, feed and tallies: written by the status trigger
        return app
    if values and values.get("decision_working_days") is not None:
        # A decision is final: the stats tallies only ever grow, and claims never touch them.
        days, late = values["decision_working_days"], values["decided_late"]
        tally.bump(session, {tally.status_key(target.value): 1, tally.decided_key(days, late): 1})
    changes.record(session, [(app.id or 0, target.value)], at=now)  # the portal's feed
    record_event(
        session,
        application_id=app.id or 0,
        at=now,
        actor=actor,
        action=action.value,
        from_status=current.value,
        to_status=target.value,
        detail=detail,
    )
    return app


@dataclass
class Checklist:
    fin_matches: bool
    documents: dict[str, bool]
    debt: Decimal
    balance: Decimal
    #: The abonent's group now: the service is for group I (əhali) only, and billing may
    #: have moved the abonent since the application was registered.
    group: str | None

    @property
    def group_i(self) -> bool:
        return self.group == "I"

    @property
    def passed(self) -> bool:
        return self.group_i and self.fin_matches and all(self.documents.values())

    def failures(self, *, translate: bool = True) -> list[str]:
        """What failed, in the operator's language (``translate=False``: the English text
        the history keeps)."""
        say = gettext if translate else str
        out = [] if self.group_i else [self.group_failure(translate=translate)]
        out += [] if self.fin_matches else [say(FAILURES["fin_matches_owner"])]
        out += [say(FAILURES[kind]) for kind, ok in self.documents.items() if not ok]
        return out

    def failure_texts(self) -> list[str]:
        """:meth:`failures` in the operator's language (the history keeps the English)."""
        from arayis_cli.i18n import gettext
        from arayis_cli.validation import DOCUMENT_KIND_LABELS

        out = (
            []
            if self.group_i
            else [
                _("the abonent is in group {group} now, not group I").format(
                    group=self.group or "?"
                )
            ]
        )
        out += [] if self.fin_matches else [_("the FIN does not match the owner on record")]
        out += [
            _("missing: {kind}").format(kind=gettext(DOCUMENT_KIND_LABELS.get(kind, kind)))
            for kind, ok in self.documents.items()
            if not ok
        ]
        return out

    def group_failure(self, *, translate: bool = True) -> str:
        message = N_("abonent is in group {group} now, not group I")
        return (gettext(message) if translate else message).format(group=self.group or "?")

    def as_json(self) -> dict[str, Any]:
        items = [
            {"code": "group_i", "label": az(CHECKLIST["group_i"]), "ok": self.group_i},
            {
                "code": "fin_matches_owner",
                "label": az(CHECKLIST["fin_matches_owner"]),
                "ok": self.fin_matches,
            },
        ]
        items += [
            {"code": kind, "label": az(REQUIRED_DOCUMENTS[kind]), "ok": ok}
            for kind, ok in self.documents.items()
        ]
        return {
            "passed": self.passed,
            "items": items,
            "debt": money_json(self.debt),
            "balance": money_json(self.balance),
        }


def checklist(session: Session, app: Application, *, now: datetime) -> Checklist:
    """The reviewer's checklist; the debt is for information and does not block approval."""
    abonent = session.get(Abonent, app.abonent_code)
    kinds = set(
        session.execute(
            select(Document.kind).where(
                Document.application_id == app.id,
                Document.detached_at.is_(None),  # type: ignore[union-attr]
            )
        ).scalars()
    )
    bal = balance(session, app.abonent_code, as_of=now)
    return Checklist(
        fin_matches=abonent is not None and abonent.owner_fin == app.fin,
        documents={kind: kind in kinds for kind in REQUIRED_DOCUMENTS},
        debt=debt_of(bal),
        balance=bal,
        group=abonent.group if abonent is not None else None,
    )


def review(
    session: Session, app_id: int, *, now: datetime, actor: str
) -> tuple[Application, Checklist]:
    """Take an application into work: Yeni → İcrada olan."""
    app = get_application(session, app_id, for_update=True)
    transition(session, app, Action.REVIEW, now=now, actor=actor)
    return app, checklist(session, app, now=now)


def review_next(session: Session, *, now: datetime, actor: str) -> tuple[Application, Checklist]:
    """Claim the oldest Yeni application; concurrent workers never claim the same one."""
    stmt = (
        select(Application)
        .where(Application.status == Status.NEW.value)
        .order_by(Application.submitted_at, Application.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    # On SQLite the transaction began with BEGIN IMMEDIATE: the read already holds the lock.
    app = session.execute(stmt).scalar_one_or_none()
    if app is None:
        raise NotFound(_("no new applications in the queue"))
    transition(session, app, Action.REVIEW, now=now, actor=actor, detail={"claimed": "next"})
    return app, checklist(session, app, now=now)


def decision_figures(app: Application, now: datetime, terms: Terms) -> dict[str, Any]:
    """Stored with the decision: when, how many working days it took, whether late."""
    from arayis_cli.services.common import baku_date

    decided = baku_date(now)
    return {
        "decided_at": now,
        "decision_working_days": terms.calendar.working_days_between(
            baku_date(app.submitted_at), decided
        ),
        "decided_late": decided > app.due_on,
    }


def reject(
    session: Session, app_id: int, *, reason: str, now: datetime, actor: str, terms: Terms
) -> Application:
    """Refuse the application (Ləğv olunmuş) and queue the email with the reason."""
    reason = clean_text(reason, N_("reason"))
    app = get_application(session, app_id, for_update=True)
    check_four_eyes(session, app, actor=actor, action="reject")
    transition(
        session,
        app,
        Action.REJECT,
        now=now,
        actor=actor,
        values={"rejection_reason": reason, **decision_figures(app, now, terms)},
        detail={"reason": reason},
    )
    queue_email(
        session,
        app,
        decision_email(Status.REJECTED),
        now=now,
        reason=reason,
        organisation=terms.organisation,
    )
    return app


def approve(
    session: Session,
    app_id: int,
    *,
    override: str | None,
    now: datetime,
    actor: str,
    terms: Terms,
) -> tuple[Application, Decimal]:
    """Complete the application (İcra olunmuş) and email the subscriber the debt result."""
    override_reason = clean_text(override, N_("override reason")) if override is not None else None
    app = get_application(session, app_id, for_update=True)
    check_four_eyes(session, app, actor=actor, action="approve")
    require(Status(app.status), Action.APPROVE, app_id=app.id)
    check = checklist(session, app, now=now)
    if not check.group_i:
        # Not overridable: the certificate would state a group the service is not for.
        raise Conflict(
            _(
                "application {app_id}: checklist not passed ({check_group_failure}); this service "
                "is for group I (residential) subscribers only"
            ).format(app_id=app.id, check_group_failure=check.failure_texts()[0]),
            checklist=check.as_json(),
        )
    if not check.passed and override_reason is None:
        raise Conflict(
            _(
                "application {app_id}: checklist not passed ({check_failures}); approve with "
                "--override REASON to record why"
            ).format(app_id=app.id, check_failures="; ".join(check.failure_texts())),
            checklist=check.as_json(),
        )
    detail: dict[str, Any] = {"debt": money_json(check.debt), "balance": money_json(check.balance)}
    if override_reason is not None:
        detail["override"] = override_reason
        detail["checklist_failures"] = check.failures(translate=False)
    transition(
        session,
        app,
        Action.APPROVE,
        now=now,
        actor=actor,
        values={"override_reason": override_reason, **decision_figures(app, now, terms)},
        detail=detail,
    )
    owing = check.debt > 0
    queue_email(
        session,
        app,
        decision_email(Status.COMPLETED, debt=owing),
        now=now,
        checked_at=fmt_datetime(now),
        organisation=terms.organisation,
        **({"debt": money_human(check.debt)} if owing else {}),
    )
    return app, check.debt
