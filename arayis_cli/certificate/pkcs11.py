"""The office key in a PKCS#11 token (an HSM, a smart card, SoftHSM2): Ed25519 (CKM_EDDSA).

``ARAYIS_SIGNING_KEY`` holds a PKCS#11 URI (RFC 7512) instead of a file name::

    pkcs11:token=arayis;object=arayis-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/arayis/hsm-pin

``token`` names the token, ``object`` the label of the office's keys, ``module-path`` the
PKCS#11 library, ``pin-source`` a file whose first line is the user PIN (or ``pin-value``).
Each key pair is stored with that label and its key id (8 bytes, the same id the register
and every certificate's token carry) as ``CKA_ID``; the private key never leaves the token
(sensitive, not extractable). Which one signs is the register's current key, so rotation
is a new key pair in the token and a new current row. Needs ``python-pkcs11``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from arayis_cli.errors import InvalidInput, Unavailable
from arayis_cli.i18n import _

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SCHEME = "pkcs11:"
#: DER of the curve's OID 1.3.101.112 (Ed25519), as CKA_EC_PARAMS.
ED25519_PARAMS = bytes.fromhex("06032b6570")


def is_uri(value: object) -> bool:
    return str(value).startswith(SCHEME)


@dataclass(frozen=True)
class TokenRef:
    token: str
    label: str
    module: str
    pin: str

    @property
    def where(self) -> str:
        return f"pkcs11:token={self.token};object={self.label}"


def parse_uri(text: str) -> TokenRef:
    """The parts of a PKCS#11 URI this tool needs; a missing one is named."""
    body = text[len(SCHEME) :]
    path, _sep, query = body.partition("?")
    attrs = {}
    for part in [*path.split(";"), *query.split("&")]:
        if "=" in part:
            key, value = part.split("=", 1)
            attrs[key.strip()] = unquote(value)
    missing = [k for k in ("token", "object", "module-path") if not attrs.get(k)]
    if missing or not (attrs.get("pin-source") or attrs.get("pin-value")):
        need = ", ".join(missing or ["pin-source"])
        raise InvalidInput(_("ARAYIS_SIGNING_KEY: the PKCS#11 URI needs {need}").format(need=need))
    pin = attrs.get("pin-value") or ""
    if not pin:
        source = Path(attrs["pin-source"])
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise Unavailable(
                _("cannot read the token PIN file {path}: {reason}").format(
                    path=source, reason=exc.strerror
                )
            ) from None
        pin = lines[0].strip() if lines else ""
    return TokenRef(attrs["token"], attrs["object"], attrs["module-path"], pin)


def _session(ref: TokenRef, *, rw: bool = False) -> Any:
    try:
        import pkcs11
    except ImportError:
        raise Unavailable(
            _("a PKCS#11 signing key needs python-pkcs11: pip install 'arayis[hsm]'")
        ) from None
    try:
        lib = pkcs11.lib(ref.module)
        token = lib.get_token(token_label=ref.token)
        return token.open(rw=rw, user_pin=ref.pin)
    except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
        raise Unavailable(
            _("the PKCS#11 token {token} cannot be opened: {reason}").format(
                token=ref.token, reason=type(exc).__name__
            )
        ) from None


def _public(point: bytes) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point  # DER octets
    return Ed25519PublicKey.from_public_bytes(raw)


class TokenKey:
    """An Ed25519 private key in a token: signs like ``Ed25519PrivateKey`` does."""

    def __init__(self, ref: TokenRef, kid: str, public: Ed25519PublicKey) -> None:
        self.ref, self.kid, self._public = ref, kid, public

    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism, ObjectClass

        with _session(self.ref) as session:
            key = session.get_key(
                object_class=ObjectClass.PRIVATE_KEY,
                id=bytes.fromhex(self.kid),
                label=self.ref.label,
            )
            return bytes(key.sign(data, mechanism=Mechanism.EDDSA))


def find(ref: TokenRef, kid: str) -> TokenKey | None:
    """The key pair ``kid`` in the token (None: the token does not hold it)."""
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey

    with _session(ref) as session:
        try:
            pub = session.get_key(
                object_class=ObjectClass.PUBLIC_KEY, id=bytes.fromhex(kid), label=ref.label
            )
        except NoSuchKey:
            return None
        except MultipleObjectsReturned:
            raise Unavailable(
                _("the PKCS#11 token {token} holds key {kid} twice").format(
                    token=ref.token, kid=kid
                )
            ) from None
        return TokenKey(ref, kid, _public(bytes(pub[Attribute.EC_POINT])))


def generate(ref: TokenRef) -> TokenKey:
    """A new Ed25519 key pair in the token, stored under the label and its key id."""
    from pkcs11 import Attribute, KeyType

    from arayis_cli.certificate.signing import key_id

    with _session(ref, rw=True) as session:
        params = session.create_domain_parameters(
            KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: ED25519_PARAMS}, local=True
        )
        pub, priv = params.generate_keypair(
            store=True,
            label=ref.label,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        public = _public(bytes(pub[Attribute.EC_POINT]))
        kid = key_id(public)
        pub[Attribute.ID] = bytes.fromhex(kid)
        priv[Attribute.ID] = bytes.fromhex(kid)
    return TokenKey(ref, kid, public)


def destroy(key: TokenKey) -> None:
    """Remove a key pair made by :func:`generate` whose registration failed."""
    from pkcs11 import Attribute, ObjectClass

    with _session(key.ref, rw=True) as session:
        for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
            template = {
                Attribute.CLASS: cls,
                Attribute.LABEL: key.ref.label,
                Attribute.ID: bytes.fromhex(key.kid),
            }
            for obj in list(session.get_objects(template)):
                obj.destroy()
