"""Intake: submit one application or a file of many (reading them: :mod:`.queries`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.formats import fmt_datetime
from arayis_cli.i18n import _
from arayis_cli.models import (
    Abonent,
    Application,
    Event,
    OutboxMessage,
)
from arayis_cli.services import Terms, changes
from arayis_cli.services.common import (
    baku_date,
    database_writes_history,
    event_row,
    get_application,
    insert_many,
    status_context,
)
from arayis_cli.services.csvfiles import (
    bad_row,
    is_jsonl,
    read_csv,
    read_jsonl,
    refused_row,
    row_failure,
)
from arayis_cli.services.emails import email_row, result_by
from arayis_cli.validation import (
    parse_abonent_code,
    parse_channel,
    parse_email,
    parse_external_id,
    parse_fin,
    parse_past_datetime,
    parse_phone,
)
from arayis_cli.workflow import OPEN_STATUSES, RECEIVED_EMAIL, Status

SUBMIT_REQUIRED = ("abonent", "fin", "phone", "email")
SUBMIT_OPTIONAL = ("channel", "external_id", "submitted_at")
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Submission:
    abonent_code: str
    fin: str
    phone: str
    email: str
    channel: str
    external_id: str | None
    submitted_at: datetime | None


def validate_submission(
    *,
    now: datetime,
    abonent: str,
    fin: str,
    phone: str,
    email: str,
    channel: str | None = None,
    external_id: str | None = None,
    submitted_at: str | datetime | None = None,
    code_lengths: tuple[int, int],
) -> Submission:
    """Check one application's fields; ``submitted_at`` may not lie after ``now``;
    ``code_lengths``: the settings' abonent code lengths (min, max digits)."""
    min_len, max_len = code_lengths
    return Submission(
        abonent_code=parse_abonent_code(abonent, min_len=min_len, max_len=max_len),
        fin=parse_fin(fin),
        phone=parse_phone(phone),
        email=parse_email(email),
        channel=parse_channel(channel or None),
        external_id=parse_external_id(external_id),
        submitted_at=(
            parse_past_datetime(submitted_at, "submitted-at", now=now) if submitted_at else None
        ),
    )


#: The service promises an answer within 3 working days (the confirmation email says so).
WORKING_DAYS_TO_ANSWER = 3


def due_on(submitted_at: datetime, terms: Terms) -> date:
    """The 3rd working day after the day of registration (Baku, the terms' calendar)."""
    return terms.calendar.nth_working_day_after(baku_date(submitted_at), WORKING_DAYS_TO_ANSWER)


def _insert(
    session: Session, subs: list[Submission], *, now: datetime, actor: str, terms: Terms
) -> list[int]:
    """Insert applications with their history row and `received` email, in bulk."""
    due_cache: dict[date, date] = {}
    rows: list[dict[str, Any]] = []
    for sub in subs:
        at = sub.submitted_at or now
        day = baku_date(at)
        if day not in due_cache:
            due_cache[day] = due_on(at, terms)
        rows.append(
            {
                "abonent_code": sub.abonent_code,
                "fin": sub.fin,
                "phone": sub.phone,
                "email": sub.email,
                "channel": sub.channel,
                "external_id": sub.external_id,
                "submitted_at": at,
                "due_on": due_cache[day],
                "status": Status.NEW.value,
                "created_by": actor,
                "version": 1,
            }
        )
    # Core inserts (not ORM objects) in multi-row statements: several times faster for a
    # batch import. Within one batch each abonent appears once (one open application per
    # abonent), so the abonent code maps the returned ids back to the rows.
    table = Application.__table__
    by_database = database_writes_history(session)
    if by_database:  # the status trigger writes the history and feed rows
        status_context(session, at=now, actor=actor)
    returned = dict(
        (code, app_id)
        for app_id, code in session.execute(
            insert(table).returning(table.c.id, table.c.abonent_code), rows
        )
    )
    ids = [returned[row["abonent_code"]] for row in rows]
    events = []
    emails = []
    organisation = terms.organisation
    today = baku_date(now)
    # The email's dates as shown: a file's rows share a few registration times and due days.
    shown_at: dict[datetime, str] = {}
    shown_due: dict[date, str] = {}
    for app_id, row in zip(ids, rows, strict=True):
        at, due = row["submitted_at"], row["due_on"]
        if at not in shown_at:
            shown_at[at] = fmt_datetime(at)
        if due not in shown_due:
            shown_due[due] = result_by(due, today)
        if not by_database:
            events.append(
                event_row(
                    application_id=app_id,
                    at=now,
                    actor=actor,
                    action="submit",
                    to_status=Status.NEW.value,
                )
            )
        emails.append(
            email_row(
                application_id=app_id,
                abonent_code=row["abonent_code"],
                to_addr=row["email"],
                kind=RECEIVED_EMAIL,
                now=now,
                submitted_at=shown_at[at],
                result_by=shown_due[due],
                organisation=organisation,
            )
        )
    insert_many(session, OutboxMessage.__table__, emails)
    if not by_database:
        insert_many(session, Event.__table__, events)
        changes.record(session, ((app_id, Status.NEW.value) for app_id in ids), at=now)
    return ids


def _check_abonent(abonent: Abonent | None, code: str) -> None:
    _check_group(None if abonent is None else abonent.group, code)


def _check_group(group: str | None, code: str) -> None:
    """Only an existing abonent of group I (residential) may apply."""
    if group is None:
        raise NotFound(_("abonent {code} not found").format(code=code))
    if group != "I":
        raise InvalidInput(
            _(
                "abonent {code} is in group {abonent_group}: this service is for group I "
                "(residential) subscribers only"
            ).format(code=code, abonent_group=group)
        )


def _open_conflict(code: str, open_id: int | str | None) -> Conflict:
    if not open_id:
        return Conflict(_("abonent {code} already has an open application").format(code=code))
    number = f"№{open_id}" if isinstance(open_id, int) else str(open_id)
    return Conflict(
        _("abonent {code} already has an open application {number}").format(
            code=code, number=number
        )
    )


def _by_external_id(session: Session, sub: Submission) -> Application | None:
    """The application already registered under this external id, if any; one registered
    for another abonent is a conflict (the portal reused an id, or a file is wrong)."""
    if not sub.external_id:
        return None
    existing = session.execute(
        select(Application).where(Application.external_id == sub.external_id)
    ).scalar_one_or_none()
    if existing is not None and existing.abonent_code != sub.abonent_code:
        raise _external_id_conflict(sub.external_id)
    return existing


def _external_id_conflict(external_id: str) -> Conflict:
    # The other abonent is not named: the caller may not be entitled to know it.
    return Conflict(
        _("external id {external_id} is already used for another abonent").format(
            external_id=external_id
        )
    )


def submit(
    session: Session, sub: Submission, *, now: datetime, actor: str, terms: Terms
) -> tuple[Application, bool]:
    """Register one application; the same external id again returns the existing one
    (same abonent) or is refused (another abonent)."""
    existing = _by_external_id(session, sub)
    if existing is not None:
        return existing, False
    _check_abonent(session.get(Abonent, sub.abonent_code), sub.abonent_code)
    open_id = _open_id(session, sub.abonent_code)
    if open_id is not None:
        raise _open_conflict(sub.abonent_code, open_id)
    try:
        with session.begin_nested():
            (app_id,) = _insert(session, [sub], now=now, actor=actor, terms=terms)
    except IntegrityError:
        # Another process got there first: the same external id, or an open application.
        existing = _by_external_id(session, sub)
        if existing is not None:
            return existing, False
        raise _open_conflict(sub.abonent_code, _open_id(session, sub.abonent_code)) from None
    return get_application(session, app_id), True


def _open_id(session: Session, code: str) -> int | None:
    """The number of the abonent's open application, if there is one."""
    return session.execute(
        select(Application.id).where(
            Application.abonent_code == code,
            Application.status.in_([s.value for s in OPEN_STATUSES]),
        )
    ).scalar()


@dataclass
class BatchReport:
    created: int = 0
    existing: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        failed = sorted(self.failed, key=lambda f: f["row"])
        return {"created": self.created, "existing": self.existing, "failed": failed}


def read_submissions(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = read_jsonl if is_jsonl(path) else read_csv
    return reader(path, required=SUBMIT_REQUIRED, optional=SUBMIT_OPTIONAL)


def submit_file(
    session: Session,
    path: Path,
    *,
    now: datetime,
    actor: str,
    commit: Callable[[], None],
    code_lengths: tuple[int, int],
    terms: Terms,
    progress: Callable[[int], None] | None = None,
    report: BatchReport | None = None,
) -> BatchReport:
    """Batch import. Valid rows are made durable in chunks; bad rows are reported by number.

    Re-running the same file creates nothing twice (external id, one open application
    per abonent). The caller owns the transaction and says how a chunk is made durable:
    ``commit`` is called after each chunk (and each row of a chunk retried alone), so that
    with ``session.commit`` a crash loses at most the chunk in flight. Pass ``report`` to
    keep what was committed when the database fails mid-batch.
    """
    report = report if report is not None else BatchReport()
    chunk: list[tuple[int, dict[str, Any]]] = []
    rows = read_submissions(path)
    first = next(rows, None)  # a malformed file is refused before anything is written
    if first is not None:
        chunk.append(first)
    for item in rows:
        chunk.append(item)
        if len(chunk) >= BATCH_SIZE:
            _submit_chunk(
                session,
                chunk,
                report,
                now=now,
                actor=actor,
                commit=commit,
                lengths=code_lengths,
                terms=terms,
            )
            if progress:
                progress(len(chunk))
            chunk = []
    if chunk:
        _submit_chunk(
            session,
            chunk,
            report,
            now=now,
            actor=actor,
            commit=commit,
            lengths=code_lengths,
            terms=terms,
        )
        if progress:
            progress(len(chunk))
    return report


def _submit_chunk(
    session: Session,
    chunk: list[tuple[int, dict[str, Any]]],
    report: BatchReport,
    *,
    now: datetime,
    actor: str,
    commit: Callable[[], None],
    lengths: tuple[int, int],
    terms: Terms,
) -> None:
    valid: list[tuple[int, Submission]] = []
    for number, row in chunk:
        if "__error__" in row:
            report.failed.append(bad_row(number, row))
            continue
        missing = [k for k in SUBMIT_REQUIRED if not str(row.get(k, "")).strip()]
        if missing:
            report.failed.append(
                row_failure(
                    number,
                    "invalid_input",
                    _("missing {fields}").format(fields=", ".join(missing)),
                )
            )
            continue
        try:
            valid.append((number, validate_submission(**row, now=now, code_lengths=lengths)))
        except InvalidInput as exc:
            report.failed.append(refused_row(number, exc))
    if not valid:
        return
    ext_ids = [s.external_id for _, s in valid if s.external_id]
    # external id → the abonent it was registered for
    known_ext: dict[str, str] = (
        dict(
            session.execute(
                select(Application.external_id, Application.abonent_code).where(
                    Application.external_id.in_(ext_ids)
                )
            ).all()
        )
        if ext_ids
        else {}
    )
    codes = {s.abonent_code for _, s in valid}
    # code → group: plain rows, not ORM objects (a thousand of them per chunk)
    groups: dict[str, str] = dict(
        session.execute(select(Abonent.code, Abonent.group).where(Abonent.code.in_(codes))).all()
    )
    # abonent code → its open application's number. The status is checked here, not in
    # the query: with both conditions SQLite walks the status index, through every open
    # application of the store (a big import's own thousands), instead of these abonents'.
    open_statuses = {s.value for s in OPEN_STATUSES}
    open_codes: dict[str, int] = {
        code: app_id
        for code, app_id, status in session.execute(
            select(Application.abonent_code, Application.id, Application.status).where(
                Application.abonent_code.in_(codes)
            )
        )
        if status in open_statuses
    }
    opened_by_row: dict[str, int] = {}  # abonent code → the row of this file opening one
    to_insert: list[tuple[int, Submission]] = []
    for number, sub in valid:
        if sub.external_id and sub.external_id in known_ext:
            if known_ext[sub.external_id] == sub.abonent_code:
                report.existing += 1
            else:
                report.failed.append(refused_row(number, _external_id_conflict(sub.external_id)))
            continue
        try:
            _check_group(groups.get(sub.abonent_code), sub.abonent_code)
            if sub.abonent_code in open_codes:
                raise _open_conflict(sub.abonent_code, open_codes[sub.abonent_code])
            if sub.abonent_code in opened_by_row:
                row_text = _("(row {number} of this file)")
                raise _open_conflict(
                    sub.abonent_code, row_text.format(number=opened_by_row[sub.abonent_code])
                )
        except (NotFound, InvalidInput, Conflict) as exc:
            report.failed.append(refused_row(number, exc))
            continue
        opened_by_row[sub.abonent_code] = number
        if sub.external_id:
            known_ext[sub.external_id] = sub.abonent_code
        to_insert.append((number, sub))
    if not to_insert:
        commit()
        return
    try:
        with session.begin_nested():
            _insert(session, [s for _, s in to_insert], now=now, actor=actor, terms=terms)
        commit()
        report.created += len(to_insert)
    except IntegrityError:
        # A concurrent writer took an external id or opened an application meanwhile:
        # fall back to one row at a time for this chunk.
        session.rollback()
        for number, sub in to_insert:
            try:
                created = submit(session, sub, now=now, actor=actor, terms=terms)[1]
                commit()
            except (NotFound, InvalidInput, Conflict) as exc:
                session.rollback()
                report.failed.append(refused_row(number, exc))
                continue
            if created:
                report.created += 1
            else:
                report.existing += 1
