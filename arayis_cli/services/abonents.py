"""Reference data: abonents (subscribers), their ledger, payments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput
from arayis_cli.i18n import N_, _
from arayis_cli.models import Abonent, LedgerEntry
from arayis_cli.money import from_qepik, money_human, parse_amount, to_qepik
from arayis_cli.services.common import baku_date, balance, debt_of, get_abonent, lock_abonent
from arayis_cli.services.csvfiles import bad_row, read_csv, refused_row, row_failure
from arayis_cli.validation import (
    clean_text,
    parse_abonent_code,
    parse_external_id,
    parse_fin,
    parse_group,
    parse_past_date,
)

LEDGER_KINDS = ("charge", "payment", "adjustment")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    existing: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "existing": self.existing,
            "failed": sorted(self.failed, key=lambda f: f["row"]),
        }


def validate_abonent(
    *,
    code: str,
    group: str,
    owner_name: str,
    owner_fin: str,
    address: str,
    code_lengths: tuple[int, int],
) -> dict[str, str]:
    """The abonent's fields checked; ``code_lengths`` (min, max digits) from the settings."""
    from arayis_cli.certificate.printable import ensure_printable

    min_len, max_len = code_lengths
    values = {
        "code": parse_abonent_code(code, min_len=min_len, max_len=max_len),
        "group": parse_group(group),
        "owner_name": clean_text(owner_name, N_("owner name"), limit=200),
        "owner_fin": parse_fin(owner_fin),
        "address": clean_text(address, N_("address")),
    }
    # The owner's name and the address go on the certificate: a letter its font lacks is
    # refused now, not months later at the counter when the certificate is printed.
    ensure_printable(stored=True, owner_name=values["owner_name"], address=values["address"])
    return values


def add_abonent(
    session: Session, *, now: datetime, code_lengths: tuple[int, int], **fields: str
) -> Abonent:
    values = validate_abonent(**fields, code_lengths=code_lengths)
    if session.get(Abonent, values["code"]) is not None:
        raise Conflict(_("abonent {code} already exists").format(code=values["code"]))
    abonent = Abonent(**values, created_at=now)
    session.add(abonent)
    session.flush()
    return abonent


def import_abonents(
    session: Session, path: Path, *, now: datetime, code_lengths: tuple[int, int]
) -> ImportReport:
    """Create new abonents, update changed ones; importing the same file again changes nothing."""
    report = ImportReport()
    rows = list(read_csv(path, required=("code", "group", "owner_name", "owner_fin", "address")))
    lengths = code_lengths
    for number, row in rows:
        if "__error__" in row:
            report.failed.append(bad_row(number, row))
            continue
        try:
            values = validate_abonent(**row, code_lengths=lengths)
        except InvalidInput as exc:
            report.failed.append(refused_row(number, exc))
            continue
        current = session.get(Abonent, values["code"])
        if current is None:
            session.add(Abonent(**values, created_at=now))
            session.flush()
            report.created += 1
        elif all(getattr(current, k) == v for k, v in values.items()):
            report.existing += 1
        else:
            for key, value in values.items():
                setattr(current, key, value)
            report.updated += 1
    return report


@dataclass(frozen=True)
class LedgerRow:
    abonent_code: str
    entry_date: date
    kind: str
    amount_qepik: int
    reference: str


def validate_ledger_row(
    *,
    abonent_code: str,
    date: str,
    kind: str,
    amount: str,
    reference: str,
    today: date,
    code_lengths: tuple[int, int],
) -> LedgerRow:
    """One ledger row; an entry dated after ``today`` (or before 2000) is refused."""
    code = parse_abonent_code(abonent_code, min_len=code_lengths[0], max_len=code_lengths[1])
    day = parse_past_date(date, N_("date"), today=today)
    kind_value = str(kind).strip().lower()
    if kind_value not in LEDGER_KINDS:
        raise InvalidInput(
            _("kind must be one of {LEDGER_KINDS}").format(LEDGER_KINDS=", ".join(LEDGER_KINDS))
        )
    value = parse_amount(amount, allow_negative=kind_value == "adjustment")
    if kind_value != "adjustment" and value == 0:
        raise InvalidInput(
            _("a {kind_value} must be a positive amount").format(kind_value=kind_value)
        )
    ref = parse_external_id(reference)
    if ref is None:
        raise InvalidInput(_("reference must not be empty"))
    return LedgerRow(code, day, kind_value, to_qepik(value), ref)


def _same_entry(entry: LedgerEntry, row: LedgerRow) -> bool:
    return (
        entry.abonent_code == row.abonent_code
        and entry.entry_date == row.entry_date
        and entry.kind == row.kind
        and entry.amount_qepik == row.amount_qepik
    )


def import_ledger(
    session: Session, path: Path, *, now: datetime, code_lengths: tuple[int, int]
) -> ImportReport:
    """Load billing data; the reference makes every row idempotent."""
    report = ImportReport()
    parsed: list[tuple[int, LedgerRow]] = []
    today, lengths = baku_date(now), code_lengths
    for number, row in read_csv(
        path, required=("abonent_code", "date", "kind", "amount", "reference")
    ):
        if "__error__" in row:
            report.failed.append(bad_row(number, row))
            continue
        try:
            parsed.append((number, validate_ledger_row(**row, today=today, code_lengths=lengths)))
        except InvalidInput as exc:
            report.failed.append(refused_row(number, exc))
    codes = {r.abonent_code for _, r in parsed}
    # Shared row locks, in code order: a print's debt check never runs beside these rows.
    known = (
        set(
            session.execute(
                select(Abonent.code)
                .where(Abonent.code.in_(codes))
                .order_by(Abonent.code)
                .with_for_update(read=True)
            ).scalars()
        )
        if codes
        else set()
    )
    existing: dict[str, LedgerEntry] = {}
    refs = [r.reference for _, r in parsed]
    for chunk_start in range(0, len(refs), 500):
        chunk = refs[chunk_start : chunk_start + 500]
        for entry in session.execute(
            select(LedgerEntry).where(LedgerEntry.reference.in_(chunk))
        ).scalars():
            existing[entry.reference] = entry
    for number, row in parsed:
        if row.abonent_code not in known:
            report.failed.append(
                row_failure(
                    number,
                    "not_found",
                    _("abonent {code} not found").format(code=row.abonent_code),
                )
            )
            continue
        entry = existing.get(row.reference)
        if entry is not None:
            if _same_entry(entry, row):
                report.existing += 1
            else:
                report.failed.append(
                    row_failure(
                        number,
                        "conflict",
                        _("reference {reference} already used differently").format(
                            reference=row.reference
                        ),
                    )
                )
            continue
        entry = LedgerEntry(**row.__dict__, created_at=now)
        session.add(entry)
        existing[row.reference] = entry
        report.created += 1
    session.flush()
    return report


@dataclass
class PaymentResult:
    entry: LedgerEntry
    created: bool
    balance: Decimal


def pay(
    session: Session,
    *,
    code: str,
    amount: str,
    reference: str | None,
    paid_at: str | None,
    now: datetime,
    code_lengths: tuple[int, int],
    again: bool = False,
) -> PaymentResult:
    """Record a payment (ödəniş); the same reference again is recognised, not doubled.

    Without a reference nothing names the payment, so a rerun of the same command (a
    script run twice, Enter pressed twice) would book it twice: a payment of the same
    amount on the same day for the same abonent is refused as a likely repeat
    (:class:`Conflict`, naming the entry already there) unless ``again`` says it is a
    second payment."""
    code = parse_abonent_code(code, min_len=code_lengths[0], max_len=code_lengths[1])
    value = parse_amount(amount)
    if value == 0:
        raise InvalidInput(_("payment amount must be positive"))
    given = parse_external_id(reference)
    ref = given or f"PAY-{uuid.uuid4().hex[:16].upper()}"
    today = baku_date(now)
    day = parse_past_date(paid_at, "paid-at", today=today) if paid_at else today
    # A print's debt check waits for this payment; the repeat check below needs two payments
    # without a reference to take turns (FOR UPDATE), or both could find nothing.
    lock_abonent(session, code, shared=given is not None or again)
    row = LedgerRow(code, day, "payment", to_qepik(value), ref)
    if given is None and not again:
        same = session.execute(
            select(LedgerEntry)
            .where(
                LedgerEntry.abonent_code == code,
                LedgerEntry.kind == "payment",
                LedgerEntry.amount_qepik == row.amount_qepik,
                LedgerEntry.entry_date == day,
            )
            .order_by(LedgerEntry.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if same is not None:
            raise Conflict(
                _(
                    "a payment of {amount} dated {date} is already on abonent {code}'s ledger "
                    "({reference}); nothing was booked. If this is another payment, run it "
                    "again with --again, or give its receipt number as --reference"
                ).format(
                    amount=money_human(value),
                    date=day.strftime("%d.%m.%Y"),
                    code=code,
                    reference=same.reference,
                ),
                reference=same.reference,
            )
    entry = session.execute(
        select(LedgerEntry).where(LedgerEntry.reference == ref).with_for_update()
    ).scalar_one_or_none()
    if entry is not None:
        if not _same_entry(entry, row):
            raise Conflict(
                _("reference {ref} is already used for a different ledger entry").format(ref=ref)
            )
        return PaymentResult(entry, False, balance(session, code, as_of=now))
    entry = LedgerEntry(**row.__dict__, created_at=now)
    session.add(entry)
    session.flush()
    return PaymentResult(entry, True, balance(session, code, as_of=now))


def abonent_summary(
    session: Session, code: str, *, now: datetime, code_lengths: tuple[int, int], recent: int = 10
) -> dict[str, Any]:
    low, high = code_lengths
    abonent = get_abonent(session, parse_abonent_code(code, min_len=low, max_len=high))
    bal = balance(session, abonent.code, as_of=now)
    entries = (
        session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.abonent_code == abonent.code)
            .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
            .limit(recent)
        )
        .scalars()
        .all()
    )
    return {
        "abonent": abonent,
        "balance": bal,
        "debt": debt_of(bal),
        "ledger": [
            {
                "date": e.entry_date,
                "kind": e.kind,
                "amount": from_qepik(e.amount_qepik),
                "reference": e.reference,
            }
            for e in entries
        ],
    }


def free_abonents(session: Session, *, as_of: datetime) -> Iterator[tuple[Abonent, Decimal]]:
    """Group I abonents with no open application, by code, with their balance now."""
    from arayis_cli.models import Application
    from arayis_cli.workflow import OPEN_STATUSES

    busy = set(
        session.execute(
            select(Application.abonent_code).where(
                Application.status.in_([st.value for st in OPEN_STATUSES])
            )
        ).scalars()
    )
    for ab in session.execute(
        select(Abonent).where(Abonent.group == "I").order_by(Abonent.code)
    ).scalars():
        if ab.code not in busy:
            yield ab, balance(session, ab.code, as_of=as_of)
