"""db check: is the store whole? Integrity, document bytes, history and outbox in step."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from arayis_cli.models import (
    Application,
    Certificate,
    Document,
    DocumentBlob,
    Event,
    OutboxMessage,
)
from arayis_cli.services import tally
from arayis_cli.workflow import Status

DECISION_MAIL = {
    Status.COMPLETED.value: {"approved_debt", "approved_no_debt"},
    Status.REJECTED.value: {"rejected"},
}


@dataclass
class CheckReport:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": self.problems}


def check(session: Session, *, now: datetime | None = None, limit: int = 200) -> CheckReport:
    report = CheckReport()

    def problem(message: str) -> None:
        if len(report.problems) < limit:
            report.problems.append(message)

    if now is not None:
        for line in outbox_problems(session, now=now):
            problem(line)

    if session.get_bind().dialect.name == "sqlite":
        for (line,) in session.execute(text("PRAGMA integrity_check")):
            if line != "ok":
                problem(f"sqlite integrity: {line}")
        for row in session.execute(text("PRAGMA foreign_key_check")):
            problem(f"foreign key broken: table {row[0]} row {row[1]} → {row[2]}")

    # Every document's bytes are there and are exactly what was recorded.
    blobs = 0
    for sha, size, content in session.execute(
        select(DocumentBlob.sha256, DocumentBlob.size, DocumentBlob.content).execution_options(
            yield_per=50
        )
    ):
        blobs += 1
        data = bytes(content)
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            problem(f"document bytes {sha[:12]}… do not match their SHA-256 or size")
    report.checked["document_blobs"] = blobs
    for doc_id, app_id, sha in session.execute(
        select(Document.id, Document.application_id, Document.sha256).where(
            ~select(DocumentBlob.sha256).where(DocumentBlob.sha256 == Document.sha256).exists()
        )
    ):
        problem(f"application {app_id}: document {doc_id} has no stored bytes ({sha[:12]}…)")
    orphans = session.execute(
        select(func.count())
        .where(~select(Document.id).where(Document.sha256 == DocumentBlob.sha256).exists())
        .select_from(DocumentBlob)
    ).scalar_one()
    if orphans:
        problem(f"{orphans} stored document(s) belong to no application")

    # History and outbox in step with each application's status.
    apps = 0
    transitions: dict[int, list[tuple[str | None, str]]] = {}
    for app_id, from_s, to_s in session.execute(
        select(Event.application_id, Event.from_status, Event.to_status)
        .where(Event.to_status.is_not(None))
        .order_by(Event.application_id, Event.id)
    ):
        transitions.setdefault(app_id, []).append((from_s, to_s))
    mails: dict[int, list[str]] = {}
    for app_id, kind in session.execute(select(OutboxMessage.application_id, OutboxMessage.kind)):
        mails.setdefault(app_id, []).append(kind)
    for app_id, status in session.execute(
        select(Application.id, Application.status).order_by(Application.id)
    ):
        apps += 1
        moves = transitions.get(app_id, [])
        if not moves or moves[0] != (None, Status.NEW.value):
            problem(f"application {app_id}: history does not start with its registration")
        elif moves[-1][1] != status:
            problem(f"application {app_id}: status {status} but history ends at {moves[-1][1]}")
        for (_, before), (after_from, _) in pairwise(moves):
            if before != after_from:
                problem(f"application {app_id}: history skips from {before} to {after_from}")
        kinds = mails.get(app_id, [])
        if kinds.count("received") != 1:
            problem(f"application {app_id}: {kinds.count('received')} registration emails")
        decision = [k for k in kinds if k != "received"]
        expected = DECISION_MAIL.get(status, set())
        if len(decision) > 1 or (decision and decision[0] not in expected):
            problem(f"application {app_id}: decision emails {decision} for status {status}")
        if expected and not decision:
            problem(f"application {app_id}: decided ({status}) but no decision email")
    report.checked["applications"] = apps

    certs = 0
    printed = {
        json.loads(detail).get("certificate_number")
        for (detail,) in session.execute(select(Event.detail).where(Event.action == "print"))
        if detail
    }
    for number, app_id, balance in session.execute(
        select(Certificate.number, Certificate.application_id, Certificate.balance_qepik)
    ):
        certs += 1
        if balance > 0:
            problem(f"certificate {number}: issued with a debt on the balance")
        if number not in printed:
            problem(f"certificate {number}: no print in application {app_id}'s history")
    report.checked["certificates"] = certs
    report.checked["emails"] = sum(len(v) for v in mails.values())

    # The running counts behind `stats` agree with the applications themselves.
    counts = tally.totals(session)
    actual: dict[str, int] = {}
    for status, n in session.execute(
        select(Application.status, func.count())
        .where(Application.status.in_(list(DECISION_MAIL)))
        .group_by(Application.status)
    ):
        actual[tally.status_key(status)] = n
    for days, late, n in session.execute(
        select(Application.decision_working_days, Application.decided_late, func.count())
        .where(Application.decision_working_days.is_not(None))
        .group_by(Application.decision_working_days, Application.decided_late)
    ):
        actual[tally.decided_key(days, bool(late))] = n
    for key in sorted(set(counts) | set(actual)):
        kept, real = counts.get(key, 0), actual.get(key, 0)
        if kept != real:
            problem(f"stats tally {key} is {kept}, the applications say {real}")
    return report


def outbox_problems(session: Session, *, now: datetime) -> list[str]:
    """Emails stranded in ``sending`` past their lease: a sender died mid-way, and whether
    the server accepted them is unknown. A person decides (``outbox retry``)."""
    from arayis_cli.formats import iso_baku
    from arayis_cli.services.outbox import stranded

    return [
        f"email {msg.id} (application {msg.application_id}) stranded in sending since "
        f"{iso_baku(msg.claimed_at)}: its sender died; check the mail server's log, then "
        f"`arayis outbox retry {msg.id}` to send it again (same Message-ID)"
        for msg in stranded(session, now=now)
    ]
