"""db check: is the store whole? Integrity, document bytes, history and outbox in step."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from arayis_cli.i18n import _
from arayis_cli.models import (
    Application,
    Certificate,
    Document,
    DocumentBlob,
    Event,
    OutboxMessage,
    SigningKey,
)
from arayis_cli.services import tally
from arayis_cli.workflow import DECISION_EMAILS, RECEIVED_EMAIL, Status

if TYPE_CHECKING:
    from arayis_cli.certificate.signing import KeyPlace

SHA256_RE = re.compile(r"[0-9a-f]{64}")

# status code → the decision emails that may go with it (status codes as stored)
DECISION_MAIL = {status.value: set(kinds) for status, kinds in DECISION_EMAILS.items()}


@dataclass
class CheckReport:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": self.problems}


# What a person calls each part of the check (in a finding that it could not run).
_PARTS: dict[str, Callable[[], str]] = {
    "chain": lambda: _("the hash chain"),
    "store": lambda: _("history, emails, documents and certificates"),
    "counters": lambda: _("the certificate counters"),
}


def check(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 200,
    head: dict[str, Any] | None = None,
    keys: KeyPlace | None = None,
) -> CheckReport:
    """``keys``: where this office's own keys are (a kept ``head`` may be signed by one).
    Every finding is one line; a value of the wrong type is a finding too (a part of
    the check that cannot read its rows says so and the others still run)."""
    from sqlalchemy.exc import SQLAlchemyError

    from arayis_cli.services.chaincheck import check_chain

    report = CheckReport()

    def problem(message: str) -> None:
        if len(report.problems) < limit:
            report.problems.append(message)

    for message in wrong_types(session):
        problem(message)
    for part, run in (
        ("chain", lambda: check_chain(session, problem, head=head, keys=keys)),
        ("store", lambda: _check_store(session, problem, report, now)),
        ("counters", lambda: check_counters(session, problem)),
    ):
        try:
            with session.begin_nested():
                checked = run()
        except (SQLAlchemyError, ValueError, TypeError, KeyError, AttributeError) as exc:
            problem(
                _("{part}: rows cannot be read ({error})").format(
                    part=_PARTS[part](), error=type(exc).__name__
                )
            )
            continue
        if part != "store":
            report.checked[f"{part}"] = int(checked)
    return report


def _check_store(
    session: Session, problem: Callable[[str], None], report: CheckReport, now: datetime | None
) -> int:

    if now is not None:
        for line in outbox_problems(session, now=now):
            problem(line)

    if session.get_bind().dialect.name == "sqlite":
        for (line,) in session.execute(text("PRAGMA integrity_check")):
            if line != "ok":
                problem(_("sqlite integrity: {line}").format(line=line))
        for row in session.execute(text("PRAGMA foreign_key_check")):
            problem(
                _("foreign key broken: table {row} row {row2} → {row3}").format(
                    row=row[0], row2=row[1], row3=row[2]
                )
            )

    report.checked["document_blobs"] = check_documents(session, problem)
    from arayis_cli.services.documents import check_history

    check_history(session, problem)  # detached and relabelled only through the tool

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
            problem(
                _("application {app_id}: history does not start with its registration").format(
                    app_id=app_id
                )
            )
        elif moves[-1][1] != status:
            problem(
                _("application {app_id}: status {status} but history ends at {moves}").format(
                    app_id=app_id, status=status, moves=moves[-1][1]
                )
            )
        for (_from, before), (after_from, _to) in pairwise(moves):
            if before != after_from:
                problem(
                    _("application {app_id}: history skips from {before} to {after_from}").format(
                        app_id=app_id, before=before, after_from=after_from
                    )
                )
        kinds = mails.get(app_id, [])
        if kinds.count(RECEIVED_EMAIL) != 1:
            problem(
                _("application {app_id}: {kinds_count} registration emails").format(
                    app_id=app_id, kinds_count=kinds.count(RECEIVED_EMAIL)
                )
            )
        decision = [k for k in kinds if k != RECEIVED_EMAIL]
        expected = DECISION_MAIL.get(status, set())
        if len(decision) > 1 or (decision and decision[0] not in expected):
            problem(
                _("application {app_id}: decision emails {decision} for status {status}").format(
                    app_id=app_id, decision=decision, status=status
                )
            )
        if expected and not decision:
            problem(
                _("application {app_id}: decided ({status}) but no decision email").format(
                    app_id=app_id, status=status
                )
            )
    report.checked["applications"] = apps

    report.checked["certificates"] = check_certificates(session, problem)
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
            problem(
                _("stats tally {key} is {kept}, the applications say {real}").format(
                    key=key, kept=kept, real=real
                )
            )
    return apps


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


def check_documents(session: Session, problem: Callable[[str], None]) -> int:
    """Every document's bytes are there and are exactly what was recorded: the blob's
    SHA-256 and size, and each document row's size against those bytes."""
    blobs = 0
    actual_size: dict[str, int] = {}
    for sha, size, content in session.execute(
        select(DocumentBlob.sha256, DocumentBlob.size, DocumentBlob.content).execution_options(
            yield_per=50
        )
    ):
        blobs += 1
        data = bytes(content)
        actual_size[sha] = len(data)
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            problem(
                _("document bytes {sha}… do not match their SHA-256 or size").format(sha=sha[:12])
            )
    for doc_id, app_id, sha, size in session.execute(
        select(Document.id, Document.application_id, Document.sha256, Document.size).order_by(
            Document.id
        )
    ):
        if sha not in actual_size:
            problem(
                _("application {app_id}: document {doc_id} has no stored bytes ({sha}…)").format(
                    app_id=app_id, doc_id=doc_id, sha=sha[:12]
                )
            )
        elif size != actual_size[sha]:
            problem(
                _(
                    "application {app_id}: document {doc_id} records size {size}, its stored "
                    "bytes are {actual_size}"
                ).format(app_id=app_id, doc_id=doc_id, size=size, actual_size=actual_size[sha])
            )
    orphans = session.execute(
        select(func.count())
        .where(~select(Document.id).where(Document.sha256 == DocumentBlob.sha256).exists())
        .select_from(DocumentBlob)
    ).scalar_one()
    if orphans:
        problem(_("{orphans} stored document(s) belong to no application").format(orphans=orphans))
    return blobs


def check_current(session: Session, problem: Callable[[str], None]) -> None:
    """At most one current certificate (not revoked, not superseded) per application; and
    each registered copy of a certificate's PDF has the hash the register gives it. The
    partial unique index keeps the first true unless someone drops it."""
    from arayis_cli.models import CertificatePdf

    doubles = session.execute(
        select(Certificate.application_id, func.count())
        .where(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None))
        .group_by(Certificate.application_id)
        .having(func.count() > 1)
        .order_by(Certificate.application_id)
    ).all()
    for app_id, count in doubles:
        problem(
            _("application {app_id} has {count} current certificates (at most one)").format(
                app_id=app_id, count=count
            )
        )
    copies = session.execute(
        select(Certificate.number, Certificate.pdf_sha256, CertificatePdf.content)
        .join(CertificatePdf, CertificatePdf.certificate_id == Certificate.id)
        .execution_options(yield_per=100)
    )
    for number, sha, content in copies:
        if hashlib.sha256(content).hexdigest() != sha:
            problem(
                _("certificate {number}: the registered copy of its PDF was altered").format(
                    number=number
                )
            )


def check_certificates(session: Session, problem: Callable[[str], None]) -> int:
    """The register: no debt, a print in history, a well-formed hash and size, and a token
    whose Ed25519 signature verifies against the registered public key and whose fields
    (number, issue time, validity, abonent, key) are the row's.

    The PDF's SHA-256 itself is covered by no signature (the file is not in the store), so
    only its form is checked here; ``verify`` compares it with a presented PDF.
    """
    from arayis_cli.certificate.signing import parse_token, signature_ok
    from arayis_cli.errors import InvalidInput

    keys = _registered_keys(session, problem)
    printed = {
        json.loads(detail).get("certificate_number")
        for (detail,) in session.execute(
            select(Event.detail).where(Event.action.in_(("print", "renew")))
        )
        if detail
    }
    check_current(session, problem)
    certs = 0
    for cert, abonent_code in session.execute(
        select(Certificate, Application.abonent_code)
        .join(Application, Application.id == Certificate.application_id, isouter=True)
        .order_by(Certificate.id)
        .execution_options(yield_per=500)
    ):
        certs += 1
        number = cert.number

        def bad(what: str, number: str = number) -> None:
            problem(_("certificate {number}: {what}").format(number=number, what=what))

        if cert.balance_qepik > 0:
            bad(_("issued with a debt on the balance"))
        if number not in printed:
            bad(
                _("no print in application {cert_application_id}'s history").format(
                    cert_application_id=cert.application_id
                )
            )
        if not SHA256_RE.fullmatch(cert.pdf_sha256 or ""):
            bad(_("stored PDF hash is not a SHA-256"))
        if cert.pdf_size <= 0:
            bad(
                _("stored PDF size {cert_pdf_size} is impossible").format(
                    cert_pdf_size=cert.pdf_size
                )
            )
        if cert.token is None:
            if cert.key_id is not None:
                bad(
                    _("signed by key {cert_key_id} but its token is gone").format(
                        cert_key_id=cert.key_id
                    )
                )
            continue  # issued before certificates were signed (revision 0003)
        try:
            token = parse_token(cert.token)
        except InvalidInput:
            bad(_("token cannot be read"))
            continue
        if not signature_ok(token, keys):
            bad(
                _("token's signature does not verify against registered key {token_kid}").format(
                    token_kid=token.kid
                )
            )
        mismatched = [
            name
            for name, in_token, in_row in (
                ("number", token.number, number),
                ("issued_at", int(token.issued_at.timestamp()), int(cert.issued_at.timestamp())),
                ("valid_until", token.valid_until, cert.valid_until),
                ("abonent", token.abonent_code, abonent_code),
                ("key", token.kid, cert.key_id),
            )
            if in_token != in_row
        ]
        if mismatched:
            bad(
                _("token does not match the row ({mismatched})").format(
                    mismatched=", ".join(mismatched)
                )
            )
    return certs


def _registered_keys(session: Session, problem: Callable[[str], None]) -> dict[str, Any]:
    """The register's public keys by the id computed from each key (not the stored id,
    so a swapped key cannot pass under the old one's name)."""
    from arayis_cli.certificate.signing import load_public_keys
    from arayis_cli.errors import InvalidInput

    keys: dict[str, Any] = {}
    for kid, pem in session.execute(select(SigningKey.kid, SigningKey.public_key)):
        try:
            found = load_public_keys(pem)
        except InvalidInput:
            problem(_("signing key {kid}: public key cannot be read").format(kid=kid))
            continue
        if kid not in found:
            problem(_("signing key {kid}: stored public key is another key").format(kid=kid))
        keys.update(found)
    return keys


# Column types as SQLite stores them (``typeof``) that each declared type allows; SQLite
# keeps whatever a hand edit puts in a column, and the rest of the check reads typed rows.
_SQLITE_TYPES = {
    "integer": ("integer",),
    "big_integer": ("integer",),
    "boolean": ("integer",),
    "date": ("text",),
    "datetime": ("text",),
    "string": ("text",),
    "text": ("text",),
    "large_binary": ("blob",),
}


def wrong_types(session: Session) -> list[str]:
    """SQLite only: values whose storage class the column's type does not allow."""
    if session.get_bind().dialect.name != "sqlite":
        return []
    from sqlmodel import SQLModel

    found: list[str] = []
    conn = session.connection()
    for table in SQLModel.metadata.sorted_tables:
        checked = []
        for column in table.columns:
            kind = getattr(column.type, "impl_instance", column.type)
            allowed = _SQLITE_TYPES.get(getattr(kind, "__visit_name__", ""))
            if allowed is not None:
                checked.append((column.name, ", ".join(f"'{k}'" for k in (*allowed, "null"))))
        if not checked:
            continue
        # One pass over the table for all its columns.
        counts = ", ".join(
            f'coalesce(sum(typeof("{name}") NOT IN ({kinds})), 0)' for name, kinds in checked
        )
        row = conn.execute(text(f'SELECT {counts} FROM "{table.name}"')).one()
        for (name, _kinds), bad_rows in zip(checked, row, strict=True):
            if bad_rows:
                found.append(
                    _("{table}.{column}: {n} value(s) of the wrong type").format(
                        table=table.name, column=name, n=bad_rows
                    )
                )
    return found


def check_counters(session: Session, problem: Callable[[str], None]) -> int:
    """Each year's certificate counter is at least the highest number issued that year
    (a counter wound back would hand out a number twice)."""
    from arayis_cli.models import Counter

    highest: dict[str, int] = {}
    for (number,) in session.execute(select(Certificate.number)):
        parts = str(number).split("-")
        if len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
            name = f"certificate-{parts[1]}"
            highest[name] = max(highest.get(name, 0), int(parts[2]))
    kept = dict(
        session.execute(
            select(Counter.name, Counter.value).where(Counter.name.in_(list(highest)))
        ).all()
    )
    for name, top in sorted(highest.items()):
        value = kept.get(name)
        if not isinstance(value, int) or value < top:
            problem(
                _("counter {name} is {value}, behind the highest number issued ({top})").format(
                    name=name, value=value, top=top
                )
            )
    return len(highest)
