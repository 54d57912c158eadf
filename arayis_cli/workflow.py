"""The workflow's facts: the transition table (status × action → status), which statuses
are open and which final, what may be printed, and the email that goes with each move.
The services and ``db check`` read them from here.

Yeni → İcrada olan → İcra olunmuş, or Ləğv olunmuş from either open status.
Nothing leaves İcra olunmuş or Ləğv olunmuş.
"""

from __future__ import annotations

from enum import StrEnum

from arayis_cli.errors import Conflict, InvalidInput
from arayis_cli.i18n import N_, _, gettext


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return LABELS[self]


class Action(StrEnum):
    REVIEW = "review"
    APPROVE = "approve"
    REJECT = "reject"


LABELS: dict[Status, str] = {
    Status.NEW: "Yeni",
    Status.IN_PROGRESS: "İcrada olan",
    Status.COMPLETED: "İcra olunmuş",
    Status.REJECTED: "Ləğv olunmuş",
}

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.NEW, Action.REVIEW): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.APPROVE): Status.COMPLETED,
    (Status.NEW, Action.REJECT): Status.REJECTED,
    (Status.IN_PROGRESS, Action.REJECT): Status.REJECTED,
}

#: Still being worked on: at most one per abonent (a partial unique index), overdue-able.
OPEN_STATUSES: tuple[Status, ...] = (Status.NEW, Status.IN_PROGRESS)
#: Decided: nothing leaves them; each is counted once in the stats tallies.
FINAL_STATUSES: tuple[Status, ...] = (Status.COMPLETED, Status.REJECTED)
#: Çap et (print) is not a move of the table: it is allowed from these statuses only.
PRINT = "print"
PRINTABLE: tuple[Status, ...] = (Status.COMPLETED,)

#: The email queued when an application is registered.
RECEIVED_EMAIL = "received"
#: The email(s) that may go with reaching each final status (approve: by the debt seen).
DECISION_EMAILS: dict[Status, tuple[str, ...]] = {
    Status.COMPLETED: ("approved_debt", "approved_no_debt"),
    Status.REJECTED: ("rejected",),
}


#: The checklist review shows and approve requires, by item code (a msgid each). JSON
#: ``label`` is the Azerbaijani text; people see it in their language.
CHECKLIST: dict[str, str] = {
    "group_i": N_("The abonent is in group I (residential)"),
    "fin_matches_owner": N_("The FIN matches the registered owner's FIN"),
    "id-card": N_("Copy of the identity card (id-card)"),
    "ownership": N_("Ownership document (ownership)"),
}
#: Documents approve requires (the checklist's document items).
REQUIRED_DOCUMENT_KINDS: tuple[str, ...] = ("id-card", "ownership")


def decision_email(target: Status, *, debt: bool = False) -> str:
    """The email that goes with reaching ``target``; an approval's depends on the debt."""
    if target is Status.COMPLETED:
        return "approved_debt" if debt else "approved_no_debt"
    if target is Status.REJECTED:
        return "rejected"
    raise ValueError(f"no decision email for {target.value}")


def open_sql(column: str = "status") -> str:
    """SQL condition "the application is open", for partial indexes."""
    return f"{column} IN ({', '.join(repr(s.value) for s in OPEN_STATUSES)})"


def next_status(current: Status, action: Action) -> Status | None:
    """The status ``action`` leads to from ``current``, or None when it is not allowed."""
    return TRANSITIONS.get((current, action))


ACTION_VERBS = {
    "review": N_("review it"),
    "approve": N_("approve it"),
    "reject": N_("reject it"),
    "print": N_("print it"),
}


def action_verb(action: str) -> str:
    """``action`` (a workflow code) as words in the current language."""
    verb = ACTION_VERBS.get(str(action))
    return gettext(verb) if verb is not None else str(action)


def require(status: Status, action: Action | str, *, app_id: int | None) -> Status:
    """The status ``action`` leads to from ``status`` (print: the same status), or
    :class:`Conflict` when the table does not allow it."""
    if action == PRINT:
        if status in PRINTABLE:
            return status
        raise Conflict(
            _(
                "application {app_id} is {status_label} ({status_value}): only İcra olunmuş "
                "(completed) applications can be printed"
            ).format(app_id=app_id, status_label=status.label, status_value=status.value)
        )
    target = next_status(status, Action(action))
    if target is None:
        raise Conflict(
            _("application {app_id} is {current_label} ({current_value}): cannot {action}").format(
                app_id=app_id,
                current_label=status.label,
                current_value=status.value,
                action=action_verb(action),
            )
        )
    return target


def parse_status(text: str) -> Status:
    """A status by its code (``in_progress``) or its Azerbaijani label (``İcrada olan``)."""
    raw = text.strip()
    for status in Status:
        if raw == status.value or raw == status.label:
            return status
    # Accept the label typed without Azerbaijani capitals, e.g. "icrada olan" or "Icra olunmuş".
    folded = raw.replace("İ", "i").replace("I", "i").lower().replace("_", " ")
    for status in Status:
        if folded in (status.value.replace("_", " "), status.label.replace("İ", "i").lower()):
            return status
    choices = ", ".join(f"{s.value} ({s.label})" for s in Status)
    raise InvalidInput(
        _("unknown status {raw!r}; use one of {choices}").format(raw=raw[:40], choices=choices)
    )
