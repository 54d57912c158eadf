"""Policy an administrator sets in the database (not in a variable a clerk could change).

``four_eyes``: the actor who took an application into work may not approve or reject it.
Every change is written to the append-only audit log (kind ``policy``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import InvalidInput, NotPermitted
from arayis_cli.formats import iso_baku
from arayis_cli.i18n import _
from arayis_cli.models import Application, Event, Policy
from arayis_cli.services.audit import current_actor, record
from arayis_cli.services.common import insert_ignore
from arayis_cli.workflow import action_verb

FOUR_EYES = "four_eyes"
SWITCH = {"on": True, "off": False}


def parse_switch(value: str) -> bool:
    key = value.strip().lower()
    if key not in SWITCH:
        raise InvalidInput(_("four-eyes takes on or off"))
    return SWITCH[key]


def four_eyes(session: Session) -> bool:
    row = session.get(Policy, FOUR_EYES)
    return row is not None and row.value == "on"


def show(session: Session) -> dict[str, Any]:
    row = session.get(Policy, FOUR_EYES)
    return {
        "four_eyes": row is not None and row.value == "on",
        "changed_at": iso_baku(row.changed_at) if row else None,
        "changed_by": row.changed_by if row else None,
    }


def set_four_eyes(session: Session, on: bool, *, now: datetime, actor: str) -> dict[str, Any]:
    """Switch four eyes on or off; the change (even to the same value) is audited."""
    who = current_actor(session, actor)
    locked = select(Policy).where(Policy.key == FOUR_EYES).with_for_update()
    row = session.execute(locked).scalar_one_or_none()
    if row is None:
        # The first change ever: the row ("off", as no row means) is made if missing — a
        # second first change at once waits on its key for the first one's commit instead
        # of clashing with it — and then locked and changed like any other.
        insert_ignore(
            session,
            Policy,
            {"key": FOUR_EYES, "value": "off", "changed_at": now, "changed_by": who},
        )
        row = session.execute(locked).scalar_one()
    before = row.value == "on"
    value = "on" if on else "off"
    row.value, row.changed_at, row.changed_by = value, now, who
    record(
        session,
        kind="policy",
        command="policy set",
        at=now,
        operator=actor,
        detail={"four_eyes": value, "was": "on" if before else "off"},
    )
    session.flush()
    return show(session)


def check_four_eyes(session: Session, app: Application, *, actor: str, action: str) -> None:
    """Refuse (exit 7) when four eyes is on and this actor reviewed the application."""
    if not four_eyes(session):
        return
    who = current_actor(session, actor)
    reviewers = set(
        session.execute(
            select(Event.actor).where(Event.application_id == app.id, Event.action == "review")
        ).scalars()
    )
    if who in reviewers:
        raise NotPermitted(
            _(
                "application {app_id}: four-eyes policy is on and {who} reviewed it; another "
                "person must {action}"
            ).format(app_id=app.id, who=who, action=action_verb(action))
        )
