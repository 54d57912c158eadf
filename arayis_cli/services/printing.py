"""Çap et: print a certificate only when the debt, checked at this moment, is zero."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.certificate.numbers import certificate_number
from arayis_cli.certificate.signing import Signer, current_signer, public_pem, sign_token
from arayis_cli.config import settings
from arayis_cli.errors import Conflict, DebtOutstanding
from arayis_cli.models import Certificate, Counter, SigningKey
from arayis_cli.money import from_qepik, money_human, money_json, to_qepik
from arayis_cli.services.common import (
    baku_date,
    balance,
    debt_of,
    get_abonent,
    get_application,
    insert_ignore,
    record_event,
)
from arayis_cli.validation import mask_fin
from arayis_cli.workflow import Status


@dataclass
class Issued:
    certificate: Certificate
    pdf: bytes


def next_certificate_number(session: Session, year: int) -> str:
    """AR-YYYY-NNNNNN-C from a per-year counter, locked for the rest of the transaction."""
    name = f"certificate-{year}"
    insert_ignore(session, Counter, {"name": name, "value": 0})
    counter = session.execute(
        select(Counter).where(Counter.name == name).with_for_update()
    ).scalar_one()
    counter.value += 1
    session.flush()
    return certificate_number(year, counter.value)


def register_key(session: Session, signer: Signer, *, now: datetime) -> None:
    """Put the signing key's public half in the register (once), for every verifier."""
    insert_ignore(
        session,
        SigningKey,
        {"kid": signer.kid, "public_key": public_pem(signer.public), "created_at": now},
    )


def print_certificate(session: Session, app_id: int, *, now: datetime, actor: str) -> Issued:
    """Re-check the debt now. Debt: the attempt is recorded (and committed) as evidence,
    then :class:`DebtOutstanding` is raised. No debt: a new certificate is registered and
    its PDF returned; the caller writes the file before committing.
    """
    from arayis_cli.certificate.pdf import CertificateData, ensure_printable, render

    app = get_application(session, app_id, for_update=True)
    status = Status(app.status)
    if status is not Status.COMPLETED:
        raise Conflict(
            f"application {app_id} is {status.label} ({status.value}): "
            "only İcra olunmuş (completed) applications can be printed"
        )
    abonent = get_abonent(session, app.abonent_code)
    # Before anything is recorded or allocated: a letter the font lacks refuses the print.
    ensure_printable(
        owner_name=abonent.owner_name,
        address=abonent.address,
        operator=actor,
        organisation=settings().organisation,
    )
    bal = balance(session, app.abonent_code, as_of=now)
    debt = debt_of(bal)
    if debt > 0:
        record_event(
            session,
            application_id=app_id,
            at=now,
            actor=actor,
            action="print_refused",
            detail={"debt": money_json(debt), "balance": money_json(bal)},
        )
        session.commit()  # the evidence support staff need survives the refusal
        raise DebtOutstanding(
            f"application {app_id}: abonent {app.abonent_code} has a debt of "
            f"{money_human(debt)}; pay it first, then print again",
            debt=debt,
        )
    s = settings()
    issued_day = baku_date(now)
    number = next_certificate_number(session, issued_day.year)
    valid_until = issued_day + timedelta(days=s.certificate_validity_days)
    signer = current_signer()
    register_key(session, signer, now=now)
    token = sign_token(
        signer, number=number, issued_at=now, valid_until=valid_until, abonent_code=abonent.code
    )
    pdf = render(
        CertificateData(
            organisation=s.organisation,
            number=number,
            issued_at=now,
            valid_until=valid_until,
            application_id=app_id,
            submitted_at=app.submitted_at,
            abonent_code=abonent.code,
            group=abonent.group,
            owner_name=abonent.owner_name,
            owner_fin_masked=mask_fin(abonent.owner_fin),
            address=abonent.address,
            balance=bal,
            operator=actor,
            verify_url=f"{s.verify_url_base}{token}",
            token=token,
        )
    )
    cert = Certificate(
        number=number,
        application_id=app_id,
        issued_at=now,
        valid_until=valid_until,
        balance_qepik=to_qepik(bal),
        operator=actor,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_size=len(pdf),
        token=token,
        key_id=signer.kid,
    )
    session.add(cert)
    record_event(
        session,
        application_id=app_id,
        at=now,
        actor=actor,
        action="print",
        detail={"certificate_number": number, "debt": "0.00", "balance": money_json(bal)},
    )
    session.flush()
    return Issued(cert, pdf)


def ready_for_print(session: Session, *, now: datetime) -> list[tuple[int, str, Decimal]]:
    """Completed applications with no current certificate, oldest first, each with the
    debt of its abonent right now (one grouped query, not one per application)."""
    from sqlalchemy import and_, exists, func

    from arayis_cli.models import Application, LedgerEntry
    from arayis_cli.services.common import balance_signed_qepik

    today = baku_date(now)
    current = exists().where(
        and_(
            Certificate.application_id == Application.id,
            Certificate.revoked_at.is_(None),
            Certificate.valid_until >= today,
        )
    )
    rows = session.execute(
        select(Application.id, Application.abonent_code)
        .where(Application.status == Status.COMPLETED.value, ~current)
        .order_by(Application.decided_at, Application.id)
    ).all()
    balances: dict[str, int] = {}
    codes = sorted({code for _, code in rows})
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        balances.update(
            session.execute(
                select(LedgerEntry.abonent_code, func.sum(balance_signed_qepik()))
                .where(LedgerEntry.abonent_code.in_(chunk), LedgerEntry.entry_date <= today)
                .group_by(LedgerEntry.abonent_code)
            ).all()
        )
    return [
        (app_id, code, debt_of(from_qepik(int(balances.get(code) or 0)))) for app_id, code in rows
    ]
