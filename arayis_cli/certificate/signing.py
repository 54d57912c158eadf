"""Ed25519 signing keys and the compact signed token carried by every certificate's QR code.

Token: ``<number>.<issued unix time>.<valid until YYYYMMDD>.<abonent code>.<key id>.<sig>``
where ``sig`` is the base64url Ed25519 signature of everything before it. No name, FIN or
amount is in it. The key id is the first 8 bytes (hex) of SHA-256 of the raw public key.

Keys: ``ARAYIS_SIGNING_KEY`` names a PEM private key file; otherwise keys live in
``<data dir>/keys/`` (created on first use, owner-only) and ``current`` names the one
that signs. Public keys are also registered in the database so that every machine can
verify every certificate, and old keys keep verifying after a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_pem(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM text (several may follow each other)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys: dict[str, Ed25519PublicKey] = {}
    for block in text.split("-----END PUBLIC KEY-----")[:-1]:
        start = block.find("-----BEGIN PUBLIC KEY-----")
        if start < 0:
            continue
        try:
            key = load_pem_public_key((block[start:] + "-----END PUBLIC KEY-----").encode())
        except ValueError:
            raise InvalidInput(_("public key file holds a key that cannot be read")) from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput(_("public key must be an Ed25519 key"))
        keys[key_id(key)] = key
    if not keys:
        raise InvalidInput(_("no PEM public key found"))
    return keys


@dataclass(frozen=True)
class Signer:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


# A sandbox's own keys folder (the demo's): while set, the configured key and the
# data directory's keys are neither read nor created.
_sandbox_keys: ContextVar[Path | None] = ContextVar("arayis_sandbox_keys", default=None)


@contextmanager
def sandbox_keys(folder: Path) -> Iterator[None]:
    """Sign and verify only with the keys in ``folder``, whatever the settings say."""
    token = _sandbox_keys.set(folder)
    try:
        yield
    finally:
        _sandbox_keys.reset(token)


def in_demo() -> bool:
    """Inside the demo's sandbox: certificates are samples (``NM-`` numbers, marked)."""
    return _sandbox_keys.get() is not None


def _configured_key() -> Path | None:
    if _sandbox_keys.get():
        return None
    from arayis_cli.config import settings

    return settings().signing_key


def keys_dir() -> Path:
    sandbox = _sandbox_keys.get()
    if sandbox is not None:
        return sandbox
    from arayis_cli.config import data_dir

    return data_dir() / "keys"


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _read_private_cached(str(path), stamp)


@lru_cache(maxsize=16)
def _read_private_cached(name: str, _stamp: int) -> Ed25519PrivateKey:
    """Parsed once per process and file version (a batch print signs hundreds)."""
    path = Path(name)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InvalidInput(_("signing key not found: {path}").format(path=path)) from None
    except (ValueError, TypeError, OSError):
        raise InvalidInput(_("signing key cannot be read: {path}").format(path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(_("signing key must be an Ed25519 key: {path}").format(path=path))
    return key


def generate(directory: Path | None = None) -> Signer:
    """A new key in the keys folder, made the current one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = directory or keys_dir()
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    _write_private(folder / f"{kid}.pem", key)
    tmp = folder / f".current.{os.getpid()}"
    tmp.write_text(kid + "\n", encoding="ascii")
    os.replace(tmp, folder / "current")
    return Signer(kid, key)


def current_signer() -> Signer:
    """The key that signs new certificates (created on first use for the embedded default)."""
    configured = _configured_key()
    if configured:
        key = _read_private(configured)
        return Signer(key_id(key.public_key()), key)
    folder = keys_dir()
    pointer = folder / "current"
    if not pointer.exists():
        return generate(folder)
    kid = pointer.read_text(encoding="ascii").strip()
    return Signer(kid, _read_private(folder / f"{kid}.pem"))


def local_public_keys() -> dict[str, Ed25519PublicKey]:
    """Public halves of the keys this machine holds (configured key and keys folder)."""
    keys: dict[str, Ed25519PublicKey] = {}
    configured = _configured_key()
    if configured and configured.exists():
        pub = _read_private(configured).public_key()
        keys[key_id(pub)] = pub
    folder = keys_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.pem")):
            pub = _read_private(path).public_key()
            keys[key_id(pub)] = pub
    return keys


@dataclass(frozen=True)
class Token:
    number: str
    issued_at: datetime
    valid_until: date
    abonent_code: str
    kid: str
    signature: bytes
    text: str

    @property
    def payload(self) -> bytes:
        return self.text.rsplit(".", 1)[0].encode("ascii")


def sign_token(
    signer: Signer, *, number: str, issued_at: datetime, valid_until: date, abonent_code: str
) -> str:
    payload = ".".join(
        (
            number,
            str(int(issued_at.timestamp())),
            valid_until.strftime("%Y%m%d"),
            abonent_code,
            signer.kid,
        )
    )
    return f"{payload}.{_b64(signer.private.sign(payload.encode('ascii')))}"


def parse_token(text: str) -> Token:
    raw = text.strip()
    if "/" in raw:  # a verification URL: the token is its last path part
        raw = raw.rstrip("/").rsplit("/", 1)[-1]
    parts = raw.split(".")
    try:
        if len(parts) != 6 or not raw.isascii():
            raise ValueError
        number, issued, valid, abonent, kid, sig = parts
        return Token(
            number=number,
            issued_at=datetime.fromtimestamp(int(issued), tz=UTC),
            valid_until=datetime.strptime(valid, "%Y%m%d").date(),
            abonent_code=abonent,
            kid=kid,
            signature=_unb64(sig),
            text=raw,
        )
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(_("not a certificate number, token or PDF file")) from None


def signature_ok(token: Token, keys: dict[str, Ed25519PublicKey]) -> bool:
    from cryptography.exceptions import InvalidSignature

    key = keys.get(token.kid)
    if key is None:
        return False
    try:
        key.verify(token.signature, token.payload)
    except InvalidSignature:
        return False
    return True


def token_in_pdf(content: bytes) -> str | None:
    """The token written into the PDF's metadata (keywords) at issue time."""
    import re

    match = re.search(rb"arayis-token:([A-Za-z0-9_.\-]+)", content)
    return match.group(1).decode("ascii") if match else None
