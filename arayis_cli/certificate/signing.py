"""Ed25519 signing keys and the compact signed token carried by every certificate's QR code.

Token: ``<number>.<issued unix time>.<valid until YYYYMMDD>.<abonent code>.<key id>.<sig>``
where ``sig`` is the base64url Ed25519 signature of everything before it. No name, FIN or
amount is in it. The key id is the first 8 bytes (hex) of SHA-256 of the raw public key.

Keys (where they are: a :class:`KeyPlace`, made from the run's settings and handed to
each function that touches a key file): ``ARAYIS_SIGNING_KEY`` names a PEM private key
file (optionally encrypted with the passphrase in ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE``);
otherwise keys live in
``<data dir>/keys/`` (created on first use by the embedded SQLite terminal, owner-only)
and ``current`` names the one that signs. Public keys are also registered in the database
so that every machine can verify every certificate, and old keys keep verifying after a
rotation. On PostgreSQL the register also says which key is the office's current one
(:mod:`arayis_cli.services.keys`): no command there creates a key but ``keys init``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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

    from arayis_cli.config import Settings


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


@dataclass(frozen=True)
class KeyPlace:
    """Where this run's signing keys are, from its settings (:meth:`of`): handed to every
    function here that reads or writes a key file, never looked up behind the caller."""

    #: ``ARAYIS_SIGNING_KEY``: the PEM file (or PKCS#11 URI) that signs; None: the folder's.
    key_file: Path | None
    #: ``<data dir>/keys``: the terminal's own keys, ``current`` naming the one that signs.
    folder: Path
    #: ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE``: its first line opens the key file.
    passphrase_file: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> KeyPlace:
        return cls(
            settings.signing_key,
            settings.data_dir() / "keys",
            settings.signing_key_passphrase_file,
        )


# A sandbox's own keys folder (the demo's): while set, the configured key and the
# data directory's keys are neither read nor created, whatever place a caller hands in.
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


def _in_force(place: KeyPlace) -> KeyPlace:
    sandbox = _sandbox_keys.get()
    return place if sandbox is None else KeyPlace(None, sandbox)


def keys_dir(place: KeyPlace) -> Path:
    return _in_force(place).folder


def _write_private(path: Path, key: Ed25519PrivateKey, passphrase: bytes | None = None) -> None:
    """A new private key file, owner-only (0600), never over an existing file."""
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())


def passphrase(place: KeyPlace) -> bytes | None:
    """The signing key's passphrase (first line of ARAYIS_SIGNING_KEY_PASSPHRASE_FILE)."""
    source = _in_force(place).passphrase_file
    if source is None:
        return None
    try:
        lines = source.read_bytes().splitlines()
    except OSError as exc:
        from arayis_cli.errors import Unavailable

        raise Unavailable(
            _("cannot read the signing key passphrase file {path}: {reason}").format(
                path=source, reason=exc.strerror
            )
        ) from None
    phrase = lines[0].strip() if lines else b""
    if not phrase:
        raise InvalidInput(_("the signing key passphrase file {path} is empty").format(path=source))
    return phrase


def _read_private(path: Path, place: KeyPlace) -> Ed25519PrivateKey:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _read_private_cached(str(path), stamp, passphrase(place))


def read_private(path: Path, place: KeyPlace) -> Signer:
    """The key in a PEM file (decrypted with ``place``'s passphrase, if any)."""
    key = _read_private(path, place)
    return Signer(key_id(key.public_key()), key)


@lru_cache(maxsize=16)
def _read_private_cached(name: str, _stamp: int, phrase: bytes | None) -> Ed25519PrivateKey:
    """Parsed once per process and file version (a batch print signs hundreds)."""
    path = Path(name)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(_("signing key not found: {path}").format(path=path)) from None
    except OSError as exc:
        raise InvalidInput(
            _("signing key cannot be read: {path} ({reason})").format(
                path=path, reason=exc.strerror
            )
        ) from None
    encrypted = b"ENCRYPTED PRIVATE KEY" in data
    if encrypted and not phrase:
        raise InvalidInput(
            _(
                "signing key {path} is protected by a passphrase: set "
                "ARAYIS_SIGNING_KEY_PASSPHRASE_FILE to the file that holds it"
            ).format(path=path)
        )
    try:
        key = load_pem_private_key(data, password=phrase if encrypted else None)
    except (ValueError, TypeError):
        if encrypted:
            raise InvalidInput(
                _("signing key {path}: the passphrase does not open it").format(path=path)
            ) from None
        raise InvalidInput(_("signing key cannot be read: {path}").format(path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(_("signing key must be an Ed25519 key: {path}").format(path=path))
    return key


def new_key() -> Signer:
    """A fresh Ed25519 key (not yet written anywhere)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    return Signer(key_id(key.public_key()), key)


def write_key_file(
    path: Path, signer: Signer, place: KeyPlace, *, like: Path | None = None
) -> Path:
    """Write ``signer`` (encrypted with ``place``'s passphrase) to a new temporary file
    beside ``path``, owner-only or with the mode and group of the file ``like`` it replaces;
    the caller moves it into place (``os.replace``) once the register agrees."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, signer.private, passphrase(place))
    if like is not None:
        st = like.stat()
        with suppress(OSError):  # not a member of that group: the file stays owner-only
            os.chown(tmp, -1, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o640)  # never readable by others, never executable
    return tmp


def generate(place: KeyPlace) -> Signer:
    """A new key in ``place``'s keys folder (the terminal's), made the current one;
    encrypted with ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE``'s passphrase when it is set."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    phrase = passphrase(place)
    folder = keys_dir(place)
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    _write_private(folder / f"{kid}.pem", key, phrase)
    tmp = _pointer_draft(folder, kid)
    os.replace(tmp, folder / "current")
    return Signer(kid, key)


def _pointer_draft(folder: Path, kid: str) -> Path:
    """A new ``current`` pointer naming ``kid``, written beside it (this thread's own)."""
    tmp = folder / f".current.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(kid + "\n", encoding="ascii")
    return tmp


def _first_key(place: KeyPlace) -> Signer:
    """The terminal's first key, made once even when several prints start at once (the
    portal's first presses): each draws a key, and the first to link the ``current``
    pointer wins; the others throw theirs away and sign with the winner's. Encrypted with
    ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE``'s passphrase when it is set."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    # Encrypted with the configured passphrase, as every key file is; a passphrase file that
    # cannot be read refuses here, before the print takes a number (no key is made).
    phrase = passphrase(place)
    folder = place.folder
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    _write_private(folder / f"{kid}.pem", key, phrase)
    tmp = _pointer_draft(folder, kid)
    try:
        os.link(tmp, folder / "current")  # atomic, and never over an existing pointer
    except FileExistsError:
        (folder / f"{kid}.pem").unlink(missing_ok=True)
        theirs = (folder / "current").read_text(encoding="ascii").strip()
        return Signer(theirs, _read_private(folder / f"{theirs}.pem", place))
    finally:
        tmp.unlink(missing_ok=True)
    return Signer(kid, key)


def current_signer(place: KeyPlace, *, create: bool = True) -> Signer | None:
    """The key that signs on this machine: the configured file, else the keys folder's
    current key (created on first use when ``create``: the embedded SQLite terminal)."""
    place = _in_force(place)
    if place.key_file:
        return read_private(place.key_file, place)
    pointer = place.folder / "current"
    if not pointer.exists():
        return _first_key(place) if create else None
    try:
        kid = pointer.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        raise InvalidInput(_("signing key cannot be read: {path}").format(path=pointer)) from None
    return Signer(kid, _read_private(place.folder / f"{kid}.pem", place))


def configured_key(place: KeyPlace) -> Path | None:
    """``ARAYIS_SIGNING_KEY`` (None inside a sandbox, or when it is not set)."""
    return _in_force(place).key_file


def local_public_keys(place: KeyPlace) -> dict[str, Ed25519PublicKey]:
    """Public halves of the keys this machine holds (configured key and keys folder)."""
    place = _in_force(place)
    keys: dict[str, Ed25519PublicKey] = {}
    configured = place.key_file
    paths = [configured] if configured and configured.exists() else []
    if place.folder.is_dir():
        paths.extend(sorted(place.folder.glob("*.pem")))
    for path in paths:
        try:
            pub = _read_private(path, place).public_key()
        except InvalidInput:
            continue  # unreadable here (a passphrase, a permission): the register has it
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
