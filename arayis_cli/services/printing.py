"""Çap et: print a certificate only when the debt, checked at this moment, is zero."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from arayis_cli.certificate.numbers import certificate_number
from arayis_cli.certificate.signing import KeyPlace, sign_token
from arayis_cli.errors import (
    AlreadyIssued,
    ArayisError,
    Conflict,
    DebtOutstanding,
    InvalidInput,
    NotFound,
    Unavailable,
)
from arayis_cli.formats import fmt_date
from arayis_cli.i18n import _
from arayis_cli.models import (
    Abonent,
    Application,
    Certificate,
    CertificatePdf,
    Counter,
)
from arayis_cli.money import from_qepik, money_human, money_json, to_qepik
from arayis_cli.services.common import (
    STORED_ID_MAX,
    autoflush,
    baku_date,
    balance,
    debt_of,
    get_application,
    insert_event,
    record_event,
)
from arayis_cli.services.printfiles import (
    OutputTarget,
    Settled,
    already_there,
    has_staging,
    settle_orphans,
    staged,
    unwritable,
)
from arayis_cli.validation import BAKU, mask_fin
from arayis_cli.workflow import PRINT, PRINTABLE, Status, require

if TYPE_CHECKING:
    from arayis_cli.certificate.pdf import CertificateData
    from arayis_cli.certificate.signing import Signer
    from arayis_cli.config import Settings
    from arayis_cli.services import Sessions
    from arayis_cli.services.staff import Responsible


@dataclass(frozen=True)
class Issuer:
    """What a certificate is issued with, from the settings of the run (or the web worker)
    that prints it: the organisation named on it (``ARAYIS_ORGANISATION``), the base of the
    verification URL in its QR code (``ARAYIS_VERIFY_URL``), the days it is valid
    (``ARAYIS_CERTIFICATE_VALIDITY_DAYS``) and where the key that signs it is."""

    organisation: str
    verify_url_base: str
    validity_days: int
    keys: KeyPlace

    @classmethod
    def of(cls, settings: Settings) -> Issuer:
        return cls(
            settings.organisation,
            settings.verify_url_base,
            settings.certificate_validity_days,
            KeyPlace.of(settings),
        )


@dataclass
class Issued:
    certificate: Certificate
    pdf: bytes


def allocate_number(session: Session, year: int) -> str:
    """AR-YYYY-NNNNNN-C from a per-year counter, locked for the rest of the transaction.

    Printing commits the allocation on its own, before anything is signed: a number is
    spent even if the print then fails (a gap), and so it is never handed out twice. The
    demo's samples take NM-YYYY-NNNNNN-C from a counter of their own.
    """
    from arayis_cli.certificate.numbers import DEMO, OFFICE
    from arayis_cli.certificate.signing import in_demo

    demo = in_demo()
    name = f"{'demo-' if demo else ''}certificate-{year}"
    autoflush(session)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    conn.execute(_NEW_COUNTER[postgres], {"counter": name})
    value = conn.execute(_COUNTER_LOCKED, {"counter": name}).scalar_one()
    # Never behind the register: a counter wound back by hand must not make every later
    # print clash with a number already issued.
    prefix = certificate_number(year, 0)[: -len("000000-0")]
    highest = conn.execute(_HIGHEST_NUMBER, {"prefix": prefix + "%"}).scalar_one_or_none()
    issued = int(highest[len(prefix) :].split("-")[0]) if highest else 0
    value = max(value, issued) + 1
    conn.execute(_COUNTER_SET, {"counter": name, "next_value": value})
    return certificate_number(year, value, series=DEMO if demo else OFFICE)


def _number_statements() -> tuple[dict[bool, Any], Any, Any, Any]:
    """Built once (a print takes a number at every issue): statements, not ORM objects."""
    from sqlalchemy import update
    from sqlalchemy.dialects import postgresql, sqlite

    counter = Counter.__table__  # type: ignore[attr-defined]
    cert = Certificate.__table__.c  # type: ignore[attr-defined]
    new = {
        postgres: dialect.insert(counter)
        .values(name=bindparam("counter"), value=0)
        .on_conflict_do_nothing()
        for postgres, dialect in ((True, postgresql), (False, sqlite))
    }
    locked = select(counter.c.value).where(counter.c.name == bindparam("counter")).with_for_update()
    highest = (
        select(cert.number)
        .where(cert.number.like(bindparam("prefix")))
        .order_by(cert.number.desc())
        .limit(1)
    )
    set_value = (
        update(counter)
        .where(counter.c.name == bindparam("counter"))
        .values(value=bindparam("next_value"))
    )
    return new, locked, highest, set_value


_NEW_COUNTER, _COUNTER_LOCKED, _HIGHEST_NUMBER, _COUNTER_SET = _number_statements()


@dataclass(frozen=True)
class ApplicationSeen:
    """The application as the check read it, under its lock."""

    id: int
    status: str
    abonent_code: str
    submitted_at: datetime


@dataclass(frozen=True)
class AbonentSeen:
    """The abonent as the check read it, under its lock."""

    code: str
    group: str
    owner_name: str
    owner_fin: str
    address: str


def _application_locked(session: Session, app_id: int) -> ApplicationSeen:
    """What the check needs of the application, its row locked (PostgreSQL ``FOR
    UPDATE``) to the end of the transaction; plain values, not an ORM object (a press
    checks twice, and the ORM's loading was most of a check's cost)."""
    if not 1 <= app_id <= STORED_ID_MAX:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    autoflush(session)
    row = session.connection().execute(_APPLICATION_LOCKED, {"app_id": app_id}).first()
    if row is None:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    return ApplicationSeen(*row)


def _abonent_locked(session: Session, code: str) -> AbonentSeen:
    """The abonent, its row locked exclusively (as :func:`lock_abonent` does, which every
    ledger write takes shared): no charge commits between the check and the certificate."""
    row = session.connection().execute(_ABONENT_LOCKED, {"code": code}).first()
    if row is None:
        raise NotFound(_("abonent {code} not found").format(code=code))
    return AbonentSeen(*row)


def _check_statements() -> tuple[Any, Any, Any]:
    app = Application.__table__.c  # type: ignore[attr-defined]
    abonent = Abonent.__table__.c  # type: ignore[attr-defined]
    cert = Certificate.__table__.c  # type: ignore[attr-defined]
    return (
        select(app.id, app.status, app.abonent_code, app.submitted_at)
        .where(app.id == bindparam("app_id"))
        .with_for_update(),
        select(abonent.code, abonent.group, abonent.owner_name, abonent.owner_fin, abonent.address)
        .where(abonent.code == bindparam("code"))
        .with_for_update(),
        select(cert.id, cert.revoked_at, cert.superseded_at)
        .where(cert.application_id == bindparam("app_id"))
        .order_by(cert.issued_at.desc(), cert.id.desc()),
    )


#: Built once: the reads of the check every print makes (twice per press).
_APPLICATION_LOCKED, _ABONENT_LOCKED, _REGISTER_OF = _check_statements()


@dataclass(frozen=True)
class Printable:
    """What the check under lock found: the certificate may be printed now, with these."""

    app: ApplicationSeen
    abonent: AbonentSeen
    balance: Decimal
    #: The key that signs it (checked before a number is taken); None for a hand-out of
    #: the current certificate (``renew=None`` and ``previous``: nothing is signed).
    signer: Signer | None
    #: Who is named on it (the staff register's name and title, or blank); None for a
    #: hand-out.
    who: Responsible | None
    #: What it is issued with (the organisation, the verification URL, its validity).
    issuer: Issuer
    #: With ``renew``: the certificate the new one replaces (current, or the revoked one).
    previous: Certificate | None = None


def _register_of(session: Session, app_id: int) -> tuple[list[Any], Any]:
    """The application's certificates, newest first (``id``, ``revoked_at``,
    ``superseded_at``), and the current one among them (neither revoked nor renewed)."""
    autoflush(session)
    rows = session.connection().execute(_REGISTER_OF, {"app_id": app_id}).all()
    current = next((r for r in rows if r.revoked_at is None and r.superseded_at is None), None)
    return rows, current


def current_certificate_id(session: Session, app_id: int) -> int | None:
    """The id of the application's current certificate (neither revoked nor renewed)."""
    _rows, current = _register_of(session, app_id)
    return None if current is None else int(current.id)


def latest_certificate(session: Session, app_id: int) -> Certificate | None:
    """The application's current certificate, else its newest one (revoked), else None."""
    rows, current = _register_of(session, app_id)
    if not rows:
        return None  # the usual case at a first print: no ORM object to load
    return session.get(Certificate, (current or rows[0]).id)


def check_register(
    session: Session, app_id: int, *, renew: bool | None, replacing: str | None = None
) -> Certificate | None:
    """One current certificate per application, checked under the application's lock.

    Without ``renew``: an application with a current certificate is refused
    (:class:`AlreadyIssued`, exit 5, naming ``--copy`` and ``--renew``), and so is one whose
    certificate was revoked (a revocation sticks until a renewal). With ``renew``: there must
    be a certificate to replace, and, when ``replacing`` is given, still the same one (a
    concurrent renewal changed it first: exit 5). Returns the certificate replaced.
    ``renew=None`` is the portal's "Çap et": the current certificate is returned (to be
    handed out again), none yet is None (to be issued), a revoked one is refused.
    """
    latest = latest_certificate(session, app_id)
    if renew is None:
        if latest is None or (latest.revoked_at is None and latest.superseded_at is None):
            return latest
        renew = False  # revoked: refused as below
    if not renew:
        if latest is None:
            return None
        if latest.revoked_at is None and latest.superseded_at is None:
            raise AlreadyIssued(
                _(
                    "application {app_id} already has certificate {number}; for the same "
                    "paper again: print {app_id} --copy; for a new certificate: print "
                    "{app_id} --renew --reason TEXT"
                ).format(app_id=app_id, number=latest.number),
                certificate_number=latest.number,
            )
        raise Conflict(
            _(
                "application {app_id}: certificate {number} was revoked; an approver or admin "
                "issues a replacement with: print {app_id} --renew --reason TEXT"
            ).format(app_id=app_id, number=latest.number),
            certificate_number=latest.number,
        )
    if latest is None:
        raise Conflict(
            _("application {app_id} has no certificate to renew; print it without --renew").format(
                app_id=app_id
            )
        )
    if replacing is not None and latest.number != replacing:
        raise Conflict(
            _(
                "application {app_id}: certificate {number} was renewed by another operator "
                "first (now {current})"
            ).format(app_id=app_id, number=replacing, current=latest.number),
            certificate_number=latest.number,
        )
    return latest


def check_printable(
    session: Session,
    app_id: int,
    *,
    now: datetime,
    actor: str,
    issuer: Issuer,
    renew: bool | None = False,
    replacing: str | None = None,
    evidence: bool = True,
) -> Printable:
    """Çap et is allowed now: completed, no current certificate (or ``renew``; or, with
    ``renew=None``, the current one in ``previous``: see :func:`check_register`), abonent
    still in group I, no debt at this moment.

    The application and then the abonent are locked (PostgreSQL ``FOR UPDATE``) before the
    register and the balance are read, and every ledger write locks the abonent too: no
    charge, and no other print of this application, can commit between this check and the
    certificate's commit. A debt is recorded in this transaction as evidence before
    :class:`DebtOutstanding` is raised: the caller keeps it by committing all the same
    (:func:`keeping_refusal` does, for a session factory). ``evidence=False`` is a look in
    a read-only transaction, decided again under lock before anything is issued: it writes
    nothing — a debt only raises, and a terminal key not yet registered raises
    :class:`~arayis_cli.services.keys.Unregistered`.
    """
    app = _application_locked(session, app_id)
    require(Status(app.status), PRINT, app_id=app_id)
    previous = check_register(session, app_id, renew=renew, replacing=replacing)
    abonent = _abonent_locked(session, app.abonent_code)
    if abonent.group != "I":
        raise Conflict(
            _(
                "application {app_id}: abonent {abonent_code} is no longer in group I (now group "
                "{abonent_group}); this certificate is for group I (əhali) only"
            ).format(app_id=app_id, abonent_code=abonent.code, abonent_group=abonent.group)
        )
    # A hand-out of the current certificate draws and signs nothing: its key and its debt
    # are checked.
    hand_out = renew is None and previous is not None
    if hand_out:
        _refuse_unusable(session, previous, now=now)
    who = None if hand_out else _drawable(session, actor, abonent, issuer)
    bal = balance(session, app.abonent_code, as_of=now)
    debt = debt_of(bal)
    if debt > 0 and evidence:
        record_event(
            session,
            application_id=app_id,
            at=now,
            actor=actor,
            action="print_refused",
            detail={"debt": money_json(debt), "balance": money_json(bal)},
        )
    if debt > 0:
        raise DebtOutstanding(
            _(
                "application {app_id}: abonent {app_abonent_code} has a debt of {amount}; pay it "
                "first, then print again"
            ).format(app_id=app_id, app_abonent_code=app.abonent_code, amount=money_human(debt)),
            debt=debt,
        )
    if hand_out:
        return Printable(app, abonent, bal, None, None, issuer, previous)
    # The office key must be at hand before a number is taken (exit 8 otherwise).
    from arayis_cli.services.keys import signer_for_print

    signer = signer_for_print(session, now=now, place=issuer.keys, register_new=evidence)
    return Printable(app, abonent, bal, signer, who, issuer, previous)


def unusable(session: Session, current: Certificate, *, now: datetime) -> str | None:
    """Why verification would refuse the current certificate ``current`` now — ``expired``
    (past its validity) or ``key_compromised`` (signed after its key was reported stolen:
    ``keys retire --compromised --since``) — or None."""
    from arayis_cli.services.verification import compromised, expired

    kid = current.key_id or _kid_in(current.token)
    if kid is not None and compromised(session, kid, current.issued_at):  # verify's order
        return "key_compromised"
    if expired(current.valid_until, baku_date(now)):
        return "expired"
    return None


def _refuse_unusable(session: Session, current: Certificate | None, *, now: datetime) -> None:
    """A current certificate that verification would refuse (:func:`unusable`) is not
    handed out again: the office issues a new one."""
    reason = None if current is None else unusable(session, current, now=now)
    if current is None or reason is None:
        return
    if reason == "expired":
        message = _(
            "application {app_id}: certificate {number} expired on {until}; an approver or "
            "admin issues a new one with: print {app_id} --renew --reason TEXT"
        )
    else:
        message = _(
            "application {app_id}: certificate {number} was signed by a key reported "
            "stolen; an approver or admin issues a replacement with: print {app_id} "
            "--renew --reason TEXT"
        )
    raise Conflict(
        message.format(
            app_id=current.application_id,
            number=current.number,
            until=fmt_date(current.valid_until),
        ),
        certificate_number=current.number,
    )


def _kid_in(token: str | None) -> str | None:
    """The signing key named in a token (certificates registered before ``key_id``)."""
    from arayis_cli.certificate.signing import parse_token

    try:
        return parse_token(token).kid if token else None
    except InvalidInput:
        return None


def _drawable(session: Session, actor: str, abonent: AbonentSeen, issuer: Issuer) -> Responsible:
    """Who is named on a new certificate; a letter the font lacks refuses the print here,
    before anything is recorded or allocated."""
    from arayis_cli.certificate.printable import ensure_printable
    from arayis_cli.services.staff import responsible

    who = responsible(session, actor)
    ensure_printable(
        owner_name=abonent.owner_name,
        address=abonent.address,
        operator=f"{who.name} {who.title}",
        organisation=issuer.organisation,
    )
    return who


@contextmanager
def keeping_refusal(sessions: Sessions) -> Iterator[Session]:
    """A transaction from ``sessions`` that keeps a refused print's evidence: when
    :class:`DebtOutstanding` leaves the block, the block still ends as a success (the record
    :func:`check_printable` made of the debt it saw commits) and the refusal then goes on
    up. Any other exception rolls back as usual. The check comes first in such a block, so
    that its record is all a refusal can commit."""
    refused: DebtOutstanding | None = None
    with sessions() as session:
        try:
            yield session
        except DebtOutstanding as exc:
            refused = exc
    if refused is not None:
        raise refused


@dataclass(frozen=True)
class Prepared:
    """A certificate checked (its locks held by the session), signed and ready to render."""

    app_id: int
    number: str
    now: datetime
    actor: str
    balance: Decimal
    valid_until: date
    token: str
    key_id: str
    data: CertificateData
    #: A renewal: the certificate replaced, and why.
    previous: Certificate | None = None
    reason: str | None = None


def prepare_certificate(
    session: Session,
    app_id: int,
    *,
    number: str,
    now: datetime,
    actor: str,
    issuer: Issuer,
    renew_reason: str | None = None,
    replacing: str | None = None,
) -> Prepared:
    """Check again (the locks are then held to the commit) and sign certificate ``number``;
    what the PDF shows is in ``data``, rendered by the caller (or a worker process)."""
    ok = check_printable(
        session,
        app_id,
        now=now,
        actor=actor,
        issuer=issuer,
        renew=renew_reason is not None,
        replacing=replacing,
    )
    return sign_checked(ok, number=number, now=now, actor=actor, renew_reason=renew_reason)


def sign_checked(
    ok: Printable, *, number: str, now: datetime, actor: str, renew_reason: str | None = None
) -> Prepared:
    """Sign certificate ``number`` for what :func:`check_printable` just found (in this
    transaction, its locks held): the token, and the data the PDF shows."""
    from arayis_cli.certificate.pdf import CertificateData
    from arayis_cli.certificate.signing import in_demo

    app, abonent, bal, who, issuer = ok.app, ok.abonent, ok.balance, ok.who, ok.issuer
    if ok.signer is None or who is None:
        raise RuntimeError("a hand-out of the current certificate is not signed again")
    valid_until = baku_date(now) + timedelta(days=issuer.validity_days)
    token = sign_token(
        ok.signer,
        number=number,
        issued_at=now,
        valid_until=valid_until,
        abonent_code=abonent.code,
    )
    data = CertificateData(
        organisation=issuer.organisation,
        number=number,
        issued_at=now,
        valid_until=valid_until,
        application_id=app.id,
        submitted_at=app.submitted_at,
        abonent_code=abonent.code,
        group=abonent.group,
        owner_name=abonent.owner_name,
        owner_fin_masked=mask_fin(abonent.owner_fin),
        address=abonent.address,
        balance=bal,
        operator=who.name,
        operator_title=who.title,
        verify_url=f"{issuer.verify_url_base}{token}",
        token=token,
        verify_address=issuer.verify_url_base.rstrip("/"),
        demo=in_demo(),
    )
    return Prepared(
        app.id,
        number,
        now,
        actor,
        bal,
        valid_until,
        token,
        ok.signer.kid,
        data,
        previous=ok.previous,
        reason=renew_reason,
    )


def register_certificate(session: Session, prepared: Prepared, pdf: bytes) -> Issued:
    """Add the certificate of ``prepared`` with these PDF bytes, and its history row; the
    caller commits after the PDF is safely on disk."""
    from sqlalchemy.exc import IntegrityError

    p = prepared
    renews = p.previous if p.reason is not None else None
    if renews is not None and renews.revoked_at is None:
        # Superseded first: the partial unique index is checked statement by statement.
        renews.superseded_at = p.now
        renews.superseded_by = p.number
        session.flush()
    cert = Certificate(
        number=p.number,
        application_id=p.app_id,
        issued_at=p.now,
        valid_until=p.valid_until,
        balance_qepik=to_qepik(p.balance),
        operator=p.actor,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_size=len(pdf),
        token=p.token,
        key_id=p.key_id,
    )
    session.add(cert)
    try:
        session.flush()
    except IntegrityError:
        # The database's last line (one current certificate per application) held where the
        # check under lock should already have refused: a conflict, never a crash.
        raise Conflict(
            _("application {app_id} already has a current certificate").format(app_id=p.app_id)
        ) from None
    session.connection().execute(_INSERT_PDF, {"certificate_id": cert.id, "content": pdf})
    detail: dict[str, Any] = {
        "certificate_number": p.number,
        "debt": "0.00",
        "balance": money_json(p.balance),
    }
    if renews is not None:
        detail["renews"] = renews.number
        detail["reason"] = p.reason
    insert_event(
        session,
        application_id=p.app_id,
        at=p.now,
        actor=p.actor,
        action="renew" if renews is not None else "print",
        detail=detail,
    )
    return Issued(cert, pdf)


_INSERT_PDF = CertificatePdf.__table__.insert()  # type: ignore[attr-defined]
_PDF_OF = select(CertificatePdf.__table__.c.content).where(  # type: ignore[attr-defined]
    CertificatePdf.__table__.c.certificate_id == bindparam("id")  # type: ignore[attr-defined]
)


def issue_certificate(session: Session, prepared: Prepared) -> Issued:
    """Render and register a prepared certificate; the caller commits after the PDF is
    safely on disk."""
    from arayis_cli.certificate.pdf import render

    return register_certificate(session, prepared, render(prepared.data))


def take_number(
    session: Session,
    app_id: int,
    *,
    now: datetime,
    actor: str,
    issuer: Issuer,
    renew_reason: str | None,
) -> tuple[Printable, str]:
    """Check that ``app_id`` may be printed now (locks held to the commit) and allocate its
    certificate number: what the check found, and the number."""
    ok = check_printable(
        session, app_id, now=now, actor=actor, issuer=issuer, renew=renew_reason is not None
    )
    return ok, allocate_number(session, baku_date(now).year)


def replaced_number(ok: Printable) -> str | None:
    """The number of the certificate a renewal replaces (checked again at its register)."""
    return ok.previous.number if ok.previous is not None else None


def clean_reason(reason: str | None) -> str | None:
    """``--renew --reason``: the reason is required and cleaned like every free text."""
    from arayis_cli.i18n import N_
    from arayis_cli.validation import clean_text

    if reason is None:
        return None
    return clean_text(reason, N_("reason"))


def print_certificate(
    session: Session,
    app_id: int,
    *,
    now: datetime,
    actor: str,
    issuer: Issuer,
    renew_reason: str | None = None,
) -> Issued:
    """Issue a new certificate for ``app_id`` and return it with its PDF bytes, no file
    written (the portal's "Çap et"; :func:`print_to_file` writes files).

    Checks, numbers and registers in this one transaction; the caller commits. Without
    ``renew_reason`` an application that has a current certificate is refused
    (:class:`AlreadyIssued`) and so is one whose certificate was revoked; with it (approver
    or admin) a fresh debt check is made and the current certificate becomes superseded by
    the new one. A debt refuses with :class:`DebtOutstanding` (its evidence recorded in
    ``session``: the caller commits to keep it).
    """
    renew_reason = clean_reason(renew_reason)
    ok, number = take_number(
        session, app_id, now=now, actor=actor, issuer=issuer, renew_reason=renew_reason
    )
    # One transaction: the check's locks are still held, so it need not be made again.
    signed = sign_checked(ok, number=number, now=now, actor=actor, renew_reason=renew_reason)
    return issue_certificate(session, signed)


def copy_certificate(session: Session, app_id: int) -> Issued:
    """The current certificate of ``app_id`` and the very bytes registered when it was
    issued (``print --copy``): same number, same paper, no debt check, nothing written.

    :class:`NotFound` for an unknown application; :class:`Conflict` when it has no current
    certificate (never printed, or revoked) or the register holds no bytes for it (issued
    before the register kept them: renew it).
    """
    get_application(session, app_id)
    latest = latest_certificate(session, app_id)
    if latest is None or latest.revoked_at is not None or latest.superseded_at is not None:
        raise Conflict(
            _("application {app_id} has no current certificate to copy").format(app_id=app_id)
        )
    return registered_copy(session, latest)


def registered_copy(session: Session, latest: Certificate) -> Issued:
    """The bytes the register kept for certificate ``latest`` (checked against its hash)."""
    app_id = latest.application_id
    autoflush(session)
    pdf = session.connection().execute(_PDF_OF, {"id": latest.id}).scalar_one_or_none()
    if pdf is None or hashlib.sha256(pdf).hexdigest() != latest.pdf_sha256:
        raise Conflict(
            _(
                "the register holds no copy of certificate {number} (issued before copies were "
                "kept); issue a new one with: print {app_id} --renew --reason TEXT"
            ).format(number=latest.number, app_id=app_id)
        )
    return Issued(latest, pdf)


def copy_to_file(sessions: Sessions, app_id: int, *, target: OutputTarget) -> tuple[Issued, Path]:
    """``print --copy``: the registered bytes of the current certificate into a file."""
    with sessions(write=False) as session:
        issued = copy_certificate(session, app_id)
        session.expunge(issued.certificate)
    number = issued.certificate.number
    target.refuse_existing(number)  # a copy never lands on a file silently (the original)
    with staged(target) as staging:
        _stage(staging, issued.pdf, target)
        final = target.path_for(number)
        try:
            path = staging.publish(final, replace=target.replace)
        except FileExistsError:  # appeared meanwhile: nothing was registered, nothing kept
            raise already_there(final) from None
        except OSError as exc:
            raise unwritable(target.folder, exc) from None
        staging.committed = True
        return issued, path


def settle_folder(sessions: Sessions, folder: Path) -> list[Settled]:
    """Restore or delete what killed prints left in ``folder`` (see :mod:`printfiles`)."""
    if not has_staging(folder):
        return []  # the usual case: no database round for a clean folder
    with sessions(write=False) as session:

        def registered(number: str) -> str | None:
            return session.execute(
                select(Certificate.pdf_sha256).where(Certificate.number == number)
            ).scalar_one_or_none()

        return settle_orphans(folder, registered)


def print_to_file(
    sessions: Sessions,
    app_id: int,
    *,
    target: OutputTarget,
    now: datetime,
    actor: str,
    issuer: Issuer,
    settle: bool = True,
    renew_reason: str | None = None,
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
    renew_reason = clean_reason(renew_reason)
    if settle:
        settle_folder(sessions, target.folder)
    with staged(target) as staging:
        with keeping_refusal(sessions) as session:
            ok, number = take_number(
                session, app_id, now=now, actor=actor, issuer=issuer, renew_reason=renew_reason
            )
        with keeping_refusal(sessions) as session:
            prepared = prepare_certificate(
                session,
                app_id,
                number=number,
                now=now,
                actor=actor,
                issuer=issuer,
                renew_reason=renew_reason,
                replacing=replaced_number(ok),
            )
            issued = issue_certificate(session, prepared)
            _stage(staging, issued.pdf, target)
        staging.committed = True
        return issued, _publish(staging, target, number)


def _stage(staging: Any, pdf: bytes, target: OutputTarget) -> None:
    """The PDF into its staging file, fsynced; a folder that refuses it is exit 2."""
    try:
        staging.write(pdf)
    except OSError as exc:
        raise unwritable(target.folder, exc) from None


def _publish(staging: Any, target: OutputTarget, number: str) -> Path:
    """Rename a registered certificate's staging file to ``<number>.pdf`` (or ``--out``)."""
    final = target.path_for(number)
    try:
        return staging.publish(final)
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
    """Completed applications never printed, oldest first, each with the debt of its
    abonent right now (one grouped query, not one per application).

    An application with any certificate is left out: a current one is not printed twice,
    and a revoked one waits for ``print --renew`` by an approver or admin."""
    from sqlalchemy import exists, func

    from arayis_cli.models import Application, LedgerEntry
    from arayis_cli.services.common import balance_signed_qepik

    today = baku_date(now)
    printed = exists().where(Certificate.application_id == Application.id)
    rows = session.execute(
        select(Application.id, Application.abonent_code)
        .where(Application.status.in_([s.value for s in PRINTABLE]), ~printed)
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


# -- print --all-ready: one writer, worker processes render --------------------------------

#: Refusals that skip one application of a batch; anything else stops the batch.
REFUSALS = (DebtOutstanding, Conflict, NotFound, InvalidInput)

#: Certificates per group: one transaction numbers them, one registers them.
GROUP = 16

#: Starts rendering one certificate; the function it returns gives the PDF bytes.
Renderer = Callable[["CertificateData"], Callable[[], bytes]]


@dataclass(frozen=True)
class BatchOutcome:
    """One application of a batch: printed (``issued``, ``path``) or refused (``error``)."""

    app_id: int
    issued: Issued | None = None
    path: Path | None = None
    error: ArayisError | None = None


@contextmanager
def render_pool(jobs: int, issuer: Issuer) -> Iterator[Renderer]:
    """Render in worker processes, one per core (this process only checks and writes).

    Opened before any staging file exists: the workers are forked at once (``fork``: they
    inherit the parsed fonts and compiled subset, warmed here first), so no worker ever
    holds a staging file's descriptor, whose lock must die with the writer. With one core,
    or a single certificate, rendering stays in this process.
    """
    from arayis_cli.certificate.pdf import render

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = min(cores, jobs, 8)
    if workers < 2:
        yield lambda page: lambda: render(page)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    warm_renderer(issuer)  # before the fork: the workers inherit it
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(int).result()  # fork every worker now (with "fork", all at once)
        yield lambda page: pool.submit(render, page).result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def warm_renderer(issuer: Issuer) -> None:
    """Draw a sample certificate once, thrown away: the fonts parsed, their usual subset
    compiled and compressed, the QR encoder imported — what every later certificate of this
    process reuses (a web worker does it when it starts, not on a subscriber's press)."""
    from arayis_cli.certificate.pdf import render

    render(_sample(issuer))


def _worker_start(parent: int) -> None:
    """A render worker: Ctrl-C is the parent's to handle; a killed parent ends it too."""
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        # kill -9 of the parent leaves the queue's pipe open in the workers themselves
        # (fork), so they would wait for work forever: they check for their parent instead.
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _sample(issuer: Issuer) -> CertificateData:
    from arayis_cli.certificate.pdf import CertificateData

    at = datetime(2026, 1, 1, tzinfo=BAKU)
    return CertificateData(
        organisation=issuer.organisation,
        number="AR-2026-000000-0",
        issued_at=at,
        valid_until=at.date(),
        application_id=1,
        submitted_at=at,
        abonent_code="0000000000",
        group="I",
        owner_name="Əliyeva Leyla Şamil qızı",
        owner_fin_masked="AAA***A",
        address="Bakı şəhəri, Xətai rayonu, küçə 1",
        balance=Decimal("0.00"),
        operator="arayis",
        verify_url=f"{issuer.verify_url_base}AR-2026-000000-0.x",
        token="AR-2026-000000-0.x",
    )


def print_group(
    sessions: Sessions,
    app_ids: Sequence[int],
    *,
    target: OutputTarget,
    now: datetime,
    actor: str,
    issuer: Issuer,
    render: Renderer,
) -> list[BatchOutcome]:
    """Print a group of applications with :func:`print_to_file`'s guarantees, in the same
    order of steps, a group at a time:

    1. a locked staging file per application is created in the folder;
    2. each is checked and numbered; the numbers commit on their own (refusals recorded);
    3. in one transaction: each is checked again under lock (locks held to the commit)
       and signed, and its PDF handed to a worker; as the PDFs come back, each is fsynced
       into its staging file and registered (while the workers render the next); the
       register commits;
    4. the files are renamed into place.

    A kill at any step leaves what a kill of single prints would: numbers spent (gaps),
    staging files the next print deletes (not registered) or restores (registered).
    """
    outcomes: dict[int, BatchOutcome] = {}
    year = baku_date(now).year
    with ExitStack() as stack:
        staging = {app_id: stack.enter_context(staged(target)) for app_id in app_ids}
        numbers: dict[int, str] = {}
        with sessions() as session:
            for app_id in app_ids:
                try:
                    check_printable(session, app_id, now=now, actor=actor, issuer=issuer)
                except REFUSALS as exc:  # a debt's evidence commits with the numbers
                    outcomes[app_id] = BatchOutcome(app_id, error=exc)
                    continue
                numbers[app_id] = allocate_number(session, year)
        pending = [app_id for app_id in app_ids if app_id in numbers]
        issued: list[Issued] = []
        while pending:
            with sessions() as session:
                prepared = _prepare_all(
                    session,
                    pending,
                    numbers,
                    outcomes,
                    now=now,
                    actor=actor,
                    issuer=issuer,
                    render=render,
                )
                for ready, rendered in prepared or ():
                    pdf = rendered()
                    _stage(staging[ready.app_id], pdf, target)
                    issued.append(register_certificate(session, ready, pdf))
            # A refusal ended that transaction (a debt's evidence committed, the locks
            # dropped): the others are checked again from the start.
            pending = [] if prepared is not None else [a for a in pending if a not in outcomes]
        for done in issued:
            app_id = done.certificate.application_id
            staging[app_id].committed = True
        for done in issued:
            app_id = done.certificate.application_id
            path = _publish(staging[app_id], target, done.certificate.number)
            outcomes[app_id] = BatchOutcome(app_id, issued=done, path=path)
    return [outcomes[app_id] for app_id in app_ids]


def _prepare_all(
    session: Session,
    pending: list[int],
    numbers: dict[int, str],
    outcomes: dict[int, BatchOutcome],
    *,
    now: datetime,
    actor: str,
    issuer: Issuer,
    render: Renderer,
) -> list[tuple[Prepared, Callable[[], bytes]]] | None:
    """Check and sign every pending application in this transaction, each handed to a
    render worker at once. One another run printed first is skipped (nothing was written;
    the locks held for the others stand). Any other refusal (a debt that appeared since the
    numbers were given) is recorded in ``outcomes`` and gives None: the caller ends this
    transaction, which keeps a debt's evidence and drops the locks, and checks the others
    again from the start (rendered again: what they show may differ)."""
    prepared: list[tuple[Prepared, Callable[[], bytes]]] = []
    for app_id in pending:
        try:
            ready = prepare_certificate(
                session, app_id, number=numbers[app_id], now=now, actor=actor, issuer=issuer
            )
            prepared.append((ready, render(ready.data)))
        except AlreadyIssued as exc:
            outcomes[app_id] = BatchOutcome(app_id, error=exc)
        except REFUSALS as exc:
            outcomes[app_id] = BatchOutcome(app_id, error=exc)
            return None
    return prepared
