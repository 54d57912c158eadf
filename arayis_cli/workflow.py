"""The transition table (status × action → status), and nothing else.

Yeni → İcrada olan → İcra olunmuş, or Ləğv olunmuş from either open status.
Nothing leaves İcra olunmuş or Ləğv olunmuş.
"""

from __future__ import annotations

from enum import StrEnum

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _


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

OPEN_STATUSES: tuple[Status, ...] = (Status.NEW, Status.IN_PROGRESS)


def next_status(current: Status, action: Action) -> Status | None:
    """The status ``action`` leads to from ``current``, or None when it is not allowed."""
    return TRANSITIONS.get((current, action))


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
