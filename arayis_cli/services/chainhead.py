"""The chain's signed head (``arayis register head``): position, hash, time, key id and an
Ed25519 signature over them, for the office to keep elsewhere (like a certificate
transparency log's signed tree head). A head kept outside the store proves later that
nothing before it was rewritten: whoever recomputes the chain cannot sign its new head."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _
from arayis_cli.services.chain import GENESIS

if TYPE_CHECKING:
    from arayis_cli.certificate.signing import KeyPlace

HEAD_FIELDS = ("position", "hash", "at", "key_id", "signature")


def _message(position: int, hash_: str, at: str) -> bytes:
    return f"arayis-chain-head:v1\n{position}\n{hash_}\n{at}".encode()


def signed_head(session: Session, *, now: datetime, place: KeyPlace) -> dict[str, Any]:
    """The chain's last link, signed now with the signing key at ``place``."""
    from datetime import UTC

    from arayis_cli.certificate.signing import _b64, current_signer

    top = (
        session.connection()
        .execute(text("SELECT position, hash FROM chain_link ORDER BY position DESC LIMIT 1"))
        .first()
    )
    position, hash_ = (int(top[0]), str(top[1])) if top else (0, GENESIS)
    at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signer = current_signer(place)
    signature = signer.private.sign(_message(position, hash_, at))
    return {
        "position": position,
        "hash": hash_,
        "at": at,
        "key_id": signer.kid,
        "signature": _b64(signature),
    }


def read_head(path: Path) -> dict[str, Any]:
    """A kept head from its file (the JSON ``register head --json`` printed)."""
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(_("head file not found: {path}").format(path=path)) from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise InvalidInput(_("head file is not JSON: {path}").format(path=path)) from None
    if (
        not isinstance(head, dict)
        or any(name not in head for name in HEAD_FIELDS)
        or not isinstance(head["position"], int)
        or isinstance(head["position"], bool)
        or head["position"] < 0
        or not all(isinstance(head[name], str) for name in HEAD_FIELDS[1:])
    ):
        raise InvalidInput(
            _("head file must hold {fields} as `register head --json` prints them").format(
                fields=", ".join(HEAD_FIELDS)
            )
        )
    return head


def head_signature_ok(session: Session, head: dict[str, Any], place: KeyPlace | None) -> bool:
    """Signed by a key in the register or held by this office at ``place`` (never by a key
    the head itself names)."""
    from arayis_cli.certificate.signing import _unb64, load_public_keys, local_public_keys
    from arayis_cli.models import SigningKey

    keys: dict[str, Any] = {}
    for (pem,) in session.execute(text(f"SELECT public_key FROM {SigningKey.__tablename__}")):
        try:
            keys.update(load_public_keys(str(pem)))
        except InvalidInput:
            continue
    if place is not None:
        with contextlib.suppress(InvalidInput):
            keys.update(local_public_keys(place))
    key = keys.get(head["key_id"])
    if key is None:
        return False
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(_unb64(head["signature"]), _message(head["position"], head["hash"], head["at"]))
    except (InvalidSignature, ValueError):
        return False
    return True
