"""Çap et: print a certificate only when the debt, checked at this moment, is zero."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.certificate.numbers import certificate_number
from arayis_cli.certificate.signing import Signer, current_signer, public_pem, sign_token
from arayis_cli.config import settings
from arayis_cli.errors import Conflict, DebtOutstanding, Unavailable
from arayis_cli.i18n import _
from arayis_cli.models import Abonent, Application, Certificate, Counter, SigningKey
from arayis_cli.money import from_qepik, money_human, money_json, to_qepik
from arayis_cli.services.common import (
    baku_date,
    balance,
    debt_of,
    get_application,
    insert_ignore,
    lock_abonent,
    record_event,
)
from arayis_cli.services.printfiles import (
    OutputTarget,
    Settled,
    has_staging,
    settle_orphans,
    staged,
    unwritable,
)
from arayis_cli.validation import mask_fin
from arayis_cli.workflow import Status


@dataclass
class Issued:
    certificate: Certificate
    pdf: bytes


def allocate_number(session: Session, year: int) -> str:
    """AR-YYYY-NNNNNN-C from a per-year counter, locked for the rest of the transaction.

    Printing commits the allocation on its own, before anything is signed: a number is
    spent even if the print then fails (a gap), and so it is never handed out twice.
    """
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


@dataclass(frozen=True)
class Printable:
    app: Application
    abonent: Abonent
    balance: Decimal


def check_printable(session: Session, app_id: int, *, now: datetime, actor: str) -> Printable:
    """Çap et is allowed now: completed, abonent still in group I, no debt at this moment.

    The application and then the abonent are locked (PostgreSQL ``FOR UPDATE``) before the
    balance is read, and every ledger write locks the abonent too: no charge can commit
    between this check and the certificate's commit. A debt is recorded (and committed) as
    evidence before :class:`DebtOutstanding` is raised.
    """
    app = get_application(session, app_id, for_update=True)
    status = Status(app.status)
    if status is not Status.COMPLETED:
        raise Conflict(
            _(
                "application {app_id} is {status_label} ({status_value}): only İcra olunmuş "
                "(completed) applications can be printed"
            ).format(app_id=app_id, status_label=status.label, status_value=status.value)
        )
    abonent = lock_abonent(session, app.abonent_code)
    if abonent.group != "I":
        raise Conflict(
            _(
                "application {app_id}: abonent {abonent_code} is no longer in group I (now group "
                "{abonent_group}); this certificate is for group I (əhali) only"
            ).format(app_id=app_id, abonent_code=abonent.code, abonent_group=abonent.group)
        )
    # Before anything is recorded or allocated: a letter the font lacks refuses the print.
    from arayis_cli.certificate.pdf import ensure_printable

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
            _(
                "application {app_id}: abonent {app_abonent_code} has a debt of {amount}; pay it "
                "first, then print again"
            ).format(app_id=app_id, app_abonent_code=app.abonent_code, amount=money_human(debt)),
            debt=debt,
        )
    return Printable(app, abonent, bal)


def issue_certificate(
    session: Session, app_id: int, *, number: str, now: datetime, actor: str
) -> Issued:
    """Check again (locks held to the commit), sign, render and register certificate
    ``number``; the caller commits after the PDF is safely on disk."""
    from arayis_cli.certificate.pdf import CertificateData, render

    ok = check_printable(session, app_id, now=now, actor=actor)
    app, abonent, bal = ok.app, ok.abonent, ok.balance
    s = settings()
    valid_until = baku_date(now) + timedelta(days=s.certificate_validity_days)
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


def print_certificate(session: Session, app_id: int, *, now: datetime, actor: str) -> Issued:
    """Check, number and issue in one transaction, the PDF returned and no file written
    (for callers that keep the bytes themselves; :func:`print_to_file` writes files)."""
    check_printable(session, app_id, now=now, actor=actor)
    number = allocate_number(session, baku_date(now).year)
    return issue_certificate(session, app_id, number=number, now=now, actor=actor)


def settle_folder(url: str, folder: Path) -> list[Settled]:
    """Restore or delete what killed prints left in ``folder`` (see :mod:`printfiles`)."""
    from arayis_cli.db import session_scope

    if not has_staging(folder):
        return []  # the usual case: no database round for a clean folder
    with session_scope(url, write=False) as session:

        def registered(number: str) -> str | None:
            return session.execute(
                select(Certificate.pdf_sha256).where(Certificate.number == number)
            ).scalar_one_or_none()

        return settle_orphans(folder, registered)


def print_to_file(
    url: str,
    app_id: int,
    *,
    target: OutputTarget,
    now: datetime,
    actor: str,
    settle: bool = True,
) -> tuple[Issued, Path]:
    """Çap et into a file. Order, so that a kill at any point is harmless:

    1. a locked staging file is created in the folder (an unwritable path stops here,
       exit 2, with nothing issued);
    2. check and allocate the number, committed on its own (a kill later leaves a gap);
    3. check again under lock, sign, render, register; the PDF is fsynced into the staging
       file, then the register commits;
    4. the file is renamed into place.

    A kill before 3's commit leaves a staging file the next print deletes (its number is
    never in the register and never reused); a kill after it leaves one the next print
    restores under ``<number>.pdf``. No certificate is in the register without its bytes
    on disk, and no signed PDF is left where it could pass for an issued certificate.
    """
    from arayis_cli.db import session_scope

    if settle:
        settle_folder(url, target.folder)
    with staged(target) as staging:
        with session_scope(url) as session:
            check_printable(session, app_id, now=now, actor=actor)
            number = allocate_number(session, baku_date(now).year)
        with session_scope(url) as session:
            issued = issue_certificate(session, app_id, number=number, now=now, actor=actor)
            try:
                staging.write(issued.pdf)
            except OSError as exc:
                raise unwritable(target.folder, exc) from None
        staging.committed = True
        final = target.path_for(number)
        try:
            return issued, staging.publish(final)
        except OSError as exc:
            raise Unavailable(
                _(
                    "certificate {number} is registered but could not be moved to {final} "
                    "({exc_strerror}); the next print into {target_folder} restores it as "
                    "{number}.pdf"
                ).format(
                    number=number,
                    final=final,
                    exc_strerror=exc.strerror,
                    target_folder=target.folder,
                )
            ) from None


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
