"""verify and revoke: is a certificate authentic, unaltered, current and not revoked?"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.certificate.numbers import looks_like_number, parse_number
from arayis_cli.certificate.signing import (
    Token,
    load_public_keys,
    local_public_keys,
    parse_token,
    signature_ok,
    token_in_pdf,
)
from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.formats import iso_baku
from arayis_cli.models import Certificate, SigningKey
from arayis_cli.services.common import baku_date, record_event
from arayis_cli.validation import clean_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_PDF = 20 * 1024 * 1024


@dataclass
class Verdict:
    valid: bool
    certificate_number: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "certificate_number": self.certificate_number,
            "reason": self.reason,
            **self.details,
        }


@dataclass(frozen=True)
class Evidence:
    """What was handed to us: a PDF's bytes and token, a bare token, or a number."""

    number: str | None = None
    token: Token | None = None
    pdf: bytes | None = None


def read_evidence(arg: str) -> Evidence:
    """A path to a PDF, a certificate number, or a token (or the URL from the QR code)."""
    path = Path(arg)
    if path.suffix.lower() == ".pdf" or path.exists():
        if not path.is_file():
            raise InvalidInput(f"not a readable file: {arg}")
        if path.stat().st_size > MAX_PDF:
            raise InvalidInput(f"{path.name}: larger than any certificate")
        content = path.read_bytes()
        raw = token_in_pdf(content)
        token = None
        if raw is not None:
            try:
                token = parse_token(raw)
            except InvalidInput:
                token = None
        return Evidence(token=token, pdf=content)
    if looks_like_number(arg) and "." not in arg:  # a token starts with the number, then dots
        return Evidence(number=parse_number(arg))
    return Evidence(token=parse_token(arg))


def _keys(session: Session) -> dict[str, Ed25519PublicKey]:
    keys = local_public_keys()
    for row in session.execute(select(SigningKey)).scalars():
        keys.update(load_public_keys(row.public_key))
    return keys


def _expired(valid_until: date, today: date) -> bool:
    return today > valid_until


def verify(session: Session, evidence: Evidence, *, now: datetime) -> Verdict:
    """Valid only when the signature checks, the certificate is in the register, a PDF's
    bytes are exactly those issued, and it has neither expired nor been revoked."""
    today = baku_date(now)
    if evidence.pdf is not None and evidence.token is None:
        return Verdict(False, None, "altered")
    keys = _keys(session)
    token = evidence.token
    if token is not None and not signature_ok(token, keys):
        return Verdict(False, token.number, "bad signature")
    number = token.number if token else evidence.number
    cert = session.execute(
        select(Certificate).where(Certificate.number == number)
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound(f"certificate {number} is not in the register")
    details = {
        "issued_at": iso_baku(cert.issued_at),
        "valid_until": cert.valid_until.isoformat(),
        "abonent_code": _abonent_of(cert),
        "application_id": cert.application_id,
    }
    if evidence.pdf is not None and hashlib.sha256(evidence.pdf).hexdigest() != cert.pdf_sha256:
        return Verdict(False, cert.number, "altered", details)
    registered = parse_token(cert.token) if cert.token else None
    if registered is None or not signature_ok(registered, keys):
        return Verdict(False, cert.number, "bad signature", details)
    if token is not None and token.text != registered.text:
        return Verdict(False, cert.number, "bad signature", details)
    if cert.revoked_at is not None:
        details["revoked_at"] = iso_baku(cert.revoked_at)
        details["revoked_reason"] = cert.revoked_reason
        return Verdict(False, cert.number, "revoked", details)
    if _expired(cert.valid_until, today):
        return Verdict(False, cert.number, "expired", details)
    return Verdict(True, cert.number, None, details)


def _abonent_of(cert: Certificate) -> str | None:
    return parse_token(cert.token).abonent_code if cert.token else None


def verify_offline(evidence: Evidence, public_key_text: str, *, now: datetime) -> Verdict:
    """Without the register: the signature and the expiry date alone."""
    if evidence.number is not None:
        raise InvalidInput("offline verification needs the PDF or its token, not a number")
    token = evidence.token
    if token is None:
        return Verdict(False, None, "altered")
    details = {
        "issued_at": iso_baku(token.issued_at),
        "valid_until": token.valid_until.isoformat(),
        "abonent_code": token.abonent_code,
        "offline": True,
    }
    if not signature_ok(token, load_public_keys(public_key_text)):
        return Verdict(False, token.number, "bad signature", details)
    if _expired(token.valid_until, baku_date(now)):
        return Verdict(False, token.number, "expired", details)
    return Verdict(True, token.number, None, details)


def revoke(session: Session, number: str, *, reason: str, now: datetime, actor: str) -> Certificate:
    """Withdraw a certificate; later verification says it is revoked."""
    reason = clean_text(reason, "reason")
    number = parse_number(number)
    cert = session.execute(
        select(Certificate).where(Certificate.number == number).with_for_update()
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound(f"certificate {number} is not in the register")
    if cert.revoked_at is not None:
        raise Conflict(f"certificate {number} was already revoked")
    cert.revoked_at = now
    cert.revoked_by = actor
    cert.revoked_reason = reason
    record_event(
        session,
        application_id=cert.application_id,
        at=now,
        actor=actor,
        action="revoke",
        detail={"certificate_number": number, "reason": reason},
    )
    session.flush()
    return cert
