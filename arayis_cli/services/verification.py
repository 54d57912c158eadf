"""verify and revoke: is a certificate authentic, unaltered, current and not revoked?"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select
from sqlmodel import Session

from arayis_cli.certificate.numbers import is_demo_number, looks_like_number, parse_number
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
from arayis_cli.i18n import N_, _, translations
from arayis_cli.models import Certificate, CertificateVerification, SigningKey
from arayis_cli.services.common import baku_date, record_event
from arayis_cli.validation import clean_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from arayis_cli.certificate.signing import KeyPlace

MAX_PDF = 20 * 1024 * 1024

# Every answer verification gives, in JSON as ``reason`` (``None`` when valid). A verdict
# record stores "valid" for None.
ALTERED = "altered"
BAD_SIGNATURE = "bad signature"
EXPIRED = "expired"
REVOKED = "revoked"
NOT_IN_REGISTER = "not in register"
NOT_A_CERTIFICATE = "not a certificate"
KEY_COMPROMISED = "key compromised"
SUPERSEDED = "superseded"
DEMO = "demo"
MISMATCH = "does not match"
# The register's row of the certificate was changed behind the tool's back (it differs
# from its last link in the hash chain): nothing it says can be trusted, not even "valid".
REGISTER_ALTERED = "register altered"
REASONS = (
    ALTERED,
    BAD_SIGNATURE,
    EXPIRED,
    REVOKED,
    NOT_IN_REGISTER,
    NOT_A_CERTIFICATE,
    KEY_COMPROMISED,
    SUPERSEDED,
    DEMO,
    MISMATCH,
    REGISTER_ALTERED,
)

# What each reason means to a person (command line and web page): an English msgid each,
# translated through the catalogue (locale/az/LC_MESSAGES/arayis.po) in the language asked
# for. A new reason is one line here and its translation in the .po.
REASON_TEXT: dict[str, str] = {
    ALTERED: N_("the file was altered; it differs from the certificate in the register"),
    BAD_SIGNATURE: N_("the digital signature is wrong (it may be forged)"),
    EXPIRED: N_("the certificate has expired"),
    REVOKED: N_("the certificate was revoked"),
    NOT_IN_REGISTER: N_("no certificate with this number is in the register"),
    NOT_A_CERTIFICATE: N_("this file is not an Azərsu certificate"),
    KEY_COMPROMISED: N_("the key that signed it was stolen or lost; it cannot be trusted"),
    SUPERSEDED: N_("the certificate was replaced by a newer one"),
    DEMO: N_("this is a demo sample: not valid"),
    MISMATCH: N_("the number and the abonent code do not match (it may be forged)"),
    REGISTER_ALTERED: N_("the register's record was changed outside arayis; ask the office"),
}


def reason_text(reason: str, lang: str | None = None) -> str:
    """``reason`` (a verdict code) in words, in ``lang`` (default: the operator's language);
    an unknown code is shown as it is."""
    message = REASON_TEXT.get(reason)
    return translations(lang).gettext(message) if message is not None else reason


# Details of a verdict that only the office may see (free text a clerk typed, internal ids):
# the public service leaves them out.
_INTERNAL = ("application_id", "revoked_reason")


@dataclass
class Verdict:
    valid: bool
    certificate_number: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)
    # The register row the evidence named, if any: verifications are recorded against it.
    certificate_id: int | None = None

    @property
    def label(self) -> str:
        """What the verification log stores: ``valid`` or the reason."""
        return self.reason or "valid"

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "certificate_number": self.certificate_number,
            "reason": self.reason,
            **self.details,
        }

    def public_json(self) -> dict[str, Any]:
        """``as_json`` without what only the office may see (the web service answers this)."""
        return {k: v for k, v in self.as_json().items() if k not in _INTERNAL}


@dataclass(frozen=True)
class Evidence:
    """What was handed to us: a PDF's bytes and token, a bare token, or a number.

    ``marked`` tells whether a PDF carries the arayis token mark at all: one without it is
    some other document (``not a certificate``); one with a mark that no longer parses was
    a certificate and has been altered.
    """

    number: str | None = None
    token: Token | None = None
    pdf: bytes | None = None
    marked: bool = False
    #: With a typed number: the abonent code printed on the paper (a number alone is no proof).
    abonent: str | None = None

    @property
    def kind(self) -> str:
        if self.pdf is not None:
            return "pdf"
        return "token" if self.token is not None else "number"


def evidence_from_pdf(content: bytes) -> Evidence:
    """A file's bytes as handed in (a path on the command line, an upload on the web)."""
    raw = token_in_pdf(content) if content.startswith(b"%PDF-") else None
    token = None
    if raw is not None:
        try:
            token = parse_token(raw)
        except InvalidInput:
            token = None
    return Evidence(token=token, pdf=content, marked=raw is not None)


def read_evidence(arg: str) -> Evidence:
    """A path to a PDF, a certificate number, or a token (or the URL from the QR code)."""
    path = Path(arg)
    if path.suffix.lower() == ".pdf" or path.exists():
        if not path.is_file():
            raise InvalidInput(_("not a readable file: {arg}").format(arg=arg))
        if path.stat().st_size > MAX_PDF:
            raise InvalidInput(
                _("{path_name}: larger than any certificate").format(path_name=path.name)
            )
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(
                _("cannot read {path_name}: {exc_strerror}").format(
                    path_name=path.name, exc_strerror=exc.strerror
                )
            ) from None
        return evidence_from_pdf(content)
    if looks_like_number(arg) and "." not in arg:  # a token starts with the number, then dots
        return Evidence(number=parse_number(arg))
    return Evidence(token=parse_token(arg))


# kid → public key. A key id is a hash of the public key itself, so an entry can never go
# stale: the web service looks each key up once per process, not once per request.
_key_cache: dict[str, Ed25519PublicKey] = {}


def _key_for(session: Session, kid: str, keys: KeyPlace) -> dict[str, Ed25519PublicKey]:
    if kid not in _key_cache:
        _key_cache.update(local_public_keys(keys))
        text = session.execute(select(SigningKey.public_key).where(SigningKey.kid == kid)).scalar()
        if text is not None:
            _key_cache.update(load_public_keys(text))
    return _key_cache


# Token texts whose signature has been checked and holds. Whether a signature holds depends
# on the text and the key its kid names, neither of which can change: the web service checks
# each certificate's signature once per process, not on every scan. Bounded.
_good_signatures: dict[str, None] = {}
_MAX_GOOD = 10_000


def _signed(session: Session, token: Token, keys: KeyPlace) -> bool:
    if token.text in _good_signatures:
        return True
    if not signature_ok(token, _key_for(session, token.kid, keys)):
        return False
    if len(_good_signatures) >= _MAX_GOOD:
        _good_signatures.pop(next(iter(_good_signatures)))
    _good_signatures[token.text] = None
    return True


@cache
def _register_lookup() -> Select[Any]:
    """The register row for a number: the columns a verdict needs, built once (a
    statement costs more to build than SQLite takes to run it)."""
    return select(
        Certificate.id,
        Certificate.number,
        Certificate.application_id,
        Certificate.issued_at,
        Certificate.valid_until,
        Certificate.pdf_sha256,
        Certificate.token,
        Certificate.revoked_at,
        Certificate.revoked_reason,
        Certificate.superseded_at,
        Certificate.superseded_by,
    ).where(Certificate.number == bindparam("number"))


def expired(valid_until: date, today: date) -> bool:
    """Past its validity: valid through ``valid_until`` (Baku's date), not after."""
    return today > valid_until


def verify(session: Session, evidence: Evidence, *, now: datetime, keys: KeyPlace) -> Verdict:
    """Valid only when the signature checks, the certificate is in the register, a PDF's
    bytes are exactly those issued, and it has neither expired nor been revoked (``keys``:
    where this office's own keys are, besides the register's public ones).

    The one verdict implementation: ``arayis verify`` and the web service both call it.
    """
    today = baku_date(now)
    if evidence.pdf is not None and evidence.token is None:
        return Verdict(False, None, ALTERED if evidence.marked else NOT_A_CERTIFICATE)
    token = evidence.token
    number = token.number if token else evidence.number
    if number is not None and is_demo_number(number):
        return Verdict(False, number, DEMO)  # in any register: a demo paper is never valid
    if evidence.kind == "number" and evidence.abonent is None:
        raise InvalidInput(
            _(
                "a certificate number alone is not proof: give the abonent code printed on "
                "the certificate too (--abonent CODE)"
            )
        )
    cert = session.execute(_register_lookup(), {"number": number}).one_or_none()
    cert_id = cert.id if cert is not None else None
    if token is not None and not _signed(session, token, keys):
        return Verdict(False, token.number, BAD_SIGNATURE, certificate_id=cert_id)
    if cert is None:
        return Verdict(False, number, NOT_IN_REGISTER)
    if (evidence.kind == "number" or evidence.abonent is not None) and (
        evidence.abonent != _abonent_of(cert)
    ):
        # Answered as a forgery would be: nothing about the real certificate is told.
        return Verdict(False, number, MISMATCH, certificate_id=cert_id)
    details = {
        "issued_at": iso_baku(cert.issued_at),
        "valid_until": cert.valid_until.isoformat(),
        "abonent_code": _abonent_of(cert),
        "application_id": cert.application_id,
    }

    def refused(reason: str) -> Verdict:
        return Verdict(False, cert.number, reason, details, certificate_id=cert_id)

    from arayis_cli.services.chain import row_agrees

    if not row_agrees(session, "certificate", str(cert.id)):
        return refused(REGISTER_ALTERED)
    if evidence.pdf is not None and hashlib.sha256(evidence.pdf).hexdigest() != cert.pdf_sha256:
        return refused(ALTERED)
    if token is not None and token.text != cert.token:
        return refused(BAD_SIGNATURE)
    # A token handed in equals the registered one and was checked above: one signature
    # check per verification, not two.
    if token is None:
        registered = parse_token(cert.token) if cert.token else None
        if registered is None or not _signed(session, registered, keys):
            return refused(BAD_SIGNATURE)
    if compromised(session, (token or parse_token(cert.token)).kid, cert.issued_at):
        return refused(KEY_COMPROMISED)
    if cert.revoked_at is not None:
        details["revoked_at"] = iso_baku(cert.revoked_at)
        details["revoked_reason"] = cert.revoked_reason
        return refused(REVOKED)
    if cert.superseded_at is not None:
        details["superseded_at"] = iso_baku(cert.superseded_at)
        details["superseded_by"] = cert.superseded_by
        return refused(SUPERSEDED)
    if expired(cert.valid_until, today):
        return refused(EXPIRED)
    return Verdict(True, cert.number, None, details, certificate_id=cert_id)


def compromised(session: Session, kid: str, issued_at: datetime) -> bool:
    """Signed by key ``kid`` after the time it may first have been in other hands (``keys
    retire --compromised --since``). Asked on every verification and every hand-out: a
    report takes effect at once, in every worker."""
    from arayis_cli.services.keys import compromised_after

    since = compromised_after(session, kid)
    return since is not None and issued_at >= since


def _abonent_of(cert: Any) -> str | None:
    return parse_token(cert.token).abonent_code if cert.token else None


def verify_offline(evidence: Evidence, public_key_text: str, *, now: datetime) -> Verdict:
    """Without the register: the signature and the expiry date alone."""
    if evidence.number is not None:
        raise InvalidInput(_("offline verification needs the PDF or its token, not a number"))
    token = evidence.token
    if token is None:
        return Verdict(False, None, ALTERED if evidence.marked else NOT_A_CERTIFICATE)
    details = {
        "issued_at": iso_baku(token.issued_at),
        "valid_until": token.valid_until.isoformat(),
        "abonent_code": token.abonent_code,
        "offline": True,
    }
    if not signature_ok(token, load_public_keys(public_key_text)):
        return Verdict(False, token.number, BAD_SIGNATURE, details)
    if expired(token.valid_until, baku_date(now)):
        return Verdict(False, token.number, EXPIRED, details)
    return Verdict(True, token.number, None, details)


@dataclass(frozen=True)
class Check:
    """One verification to record (Yoxlama): which certificate, when, the verdict, how."""

    certificate_id: int
    at: datetime
    verdict: str
    channel: str  # "web" or "cli"
    evidence: str  # "pdf", "token" or "number"


def check_of(verdict: Verdict, evidence: Evidence, *, at: datetime, channel: str) -> Check | None:
    """The record of a verification, or None when it named no certificate in the register."""
    if verdict.certificate_id is None:
        return None
    return Check(verdict.certificate_id, at, verdict.label, channel, evidence.kind)


def record_checks(session: Session, checks: list[Check]) -> None:
    """Append verifications to the log (the only write the verification service makes)."""
    from sqlalchemy import insert

    if checks:
        session.execute(
            insert(CertificateVerification),
            [
                {
                    "certificate_id": c.certificate_id,
                    "at": c.at,
                    "verdict": c.verdict,
                    "channel": c.channel,
                    "evidence": c.evidence,
                }
                for c in checks
            ],
        )


def revoke(session: Session, number: str, *, reason: str, now: datetime, actor: str) -> Certificate:
    """Withdraw a certificate; later verification says it is revoked."""
    reason = clean_text(reason, N_("reason"))
    number = parse_number(number)
    cert = session.execute(
        select(Certificate).where(Certificate.number == number).with_for_update()
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound(_("certificate {number} is not in the register").format(number=number))
    if cert.revoked_at is not None:
        raise Conflict(_("certificate {number} was already revoked").format(number=number))
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
