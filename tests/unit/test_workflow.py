"""The transition table itself: every cell, allowed or refused."""

from __future__ import annotations

import pytest

from arayis_cli.errors import InvalidInput
from arayis_cli.workflow import Action, Status, next_status, parse_status

EXPECTED = {
    (Status.NEW, Action.REVIEW): Status.IN_PROGRESS,
    (Status.NEW, Action.REJECT): Status.REJECTED,
    (Status.IN_PROGRESS, Action.APPROVE): Status.COMPLETED,
    (Status.IN_PROGRESS, Action.REJECT): Status.REJECTED,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_cell(status: Status, action: Action) -> None:
    assert next_status(status, action) == EXPECTED.get((status, action))


def test_nothing_leaves_a_final_status() -> None:
    for final in (Status.COMPLETED, Status.REJECTED):
        assert all(next_status(final, a) is None for a in Action)


def test_labels() -> None:
    assert [s.label for s in Status] == ["Yeni", "İcrada olan", "İcra olunmuş", "Ləğv olunmuş"]


@pytest.mark.parametrize(
    "text,status",
    [
        ("new", Status.NEW),
        ("İcrada olan", Status.IN_PROGRESS),
        ("icrada olan", Status.IN_PROGRESS),
        ("Icra olunmuş", Status.COMPLETED),
        ("Ləğv olunmuş", Status.REJECTED),
        ("in_progress", Status.IN_PROGRESS),
    ],
)
def test_parse_status(text: str, status: Status) -> None:
    assert parse_status(text) is status


def test_parse_status_refuses_unknown() -> None:
    with pytest.raises(InvalidInput):
        parse_status("done")
