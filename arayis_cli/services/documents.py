"""Document copies (sənədlərin surəti): read, sniff by content, store once per content."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput
from arayis_cli.i18n import N_, _
from arayis_cli.models import Application, Document, DocumentBlob
from arayis_cli.services.common import get_application, insert_ignore, record_event
from arayis_cli.validation import clean_text, parse_document_kind
from arayis_cli.workflow import OPEN_STATUSES, Status

ALLOWED_TYPES = ("application/pdf", "image/jpeg", "image/png")


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    media_type: str
    sha256: str


def sniff(content: bytes) -> str | None:
    """The media type judged by content (magic bytes and a complete ending), or None."""
    import filetype

    kind = filetype.guess_mime(content)
    # The file must also end the way its type ends: nothing trails it (a polyglot that
    # hides another file after the end marker is refused), apart from blank padding.
    tail = content.rstrip(b"\x00\r\n\t ")
    if kind == "application/pdf":
        return kind if tail.endswith(b"%%EOF") else None
    if kind == "image/png":
        return kind if content.endswith(b"IEND\xaeB`\x82") else None
    if kind == "image/jpeg":
        return kind if tail.endswith(b"\xff\xd9") else None
    return None


def read_upload(path: Path, *, limit: int) -> Upload:
    """Read one file to attach, refusing anything but a complete PDF, JPEG or PNG."""
    name = path.name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise InvalidInput(_("file not found: {path}").format(path=path)) from None
    except OSError as exc:
        raise InvalidInput(
            _("cannot read {path}: {exc_strerror}").format(path=path, exc_strerror=exc.strerror)
        ) from None
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInput(
            _("{name}: is a symbolic link; attach the file itself").format(name=name)
        )
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(_("{name}: not a regular file").format(name=name))
    if info.st_size == 0:
        raise InvalidInput(_("{name}: file is empty").format(name=name))
    if info.st_size > limit:
        raise InvalidInput(
            _("{name}: file is larger than the limit of {limit} bytes").format(
                name=name, limit=limit
            )
        )
    try:
        with path.open("rb") as fh:
            content = fh.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(
            _("cannot read {name}: {exc_strerror}").format(name=name, exc_strerror=exc.strerror)
        ) from None
    if len(content) > limit:
        raise InvalidInput(
            _("{name}: file is larger than the limit of {limit} bytes").format(
                name=name, limit=limit
            )
        )
    return upload_of(name, content, limit=limit)


def upload_of(name: str, content: bytes, *, limit: int) -> Upload:
    """The checks of :func:`read_upload` on bytes already received (the portal's upload)."""
    if len(content) > limit:
        raise InvalidInput(
            _("{name}: file is larger than the limit of {limit} bytes").format(
                name=name, limit=limit
            )
        )
    if not content:
        raise InvalidInput(_("{name}: file is empty").format(name=name))
    media_type = sniff(content)
    if media_type is None:
        raise InvalidInput(
            _("{name}: not a complete PDF, JPEG or PNG file (judged by content)").format(name=name)
        )
    filename = clean_text(name, N_("file name"), limit=255)
    return Upload(filename, content, media_type, hashlib.sha256(content).hexdigest())


def attach(
    session: Session,
    *,
    app_id: int,
    uploads: list[Upload],
    kind: str,
    now: datetime,
    actor: str,
) -> tuple[Application, int]:
    """Store every upload or none; returns the application and how many were new."""
    kind = parse_document_kind(kind)
    app = get_application(session, app_id, for_update=True)
    if Status(app.status) not in OPEN_STATUSES:
        raise Conflict(
            _(
                "application {app_id} is {label}: documents can be attached only while it is open"
            ).format(app_id=app_id, label=Status(app.status).label)
        )
    present = set(
        session.execute(select(Document.sha256).where(Document.application_id == app_id)).scalars()
    )
    added = 0
    for upload in uploads:
        if upload.sha256 in present:
            continue
        present.add(upload.sha256)
        insert_ignore(
            session,
            DocumentBlob,
            {"sha256": upload.sha256, "size": len(upload.content), "content": upload.content},
        )
        session.add(
            Document(
                application_id=app_id,
                kind=kind,
                filename=upload.filename,
                media_type=upload.media_type,
                size=len(upload.content),
                sha256=upload.sha256,
                attached_at=now,
                attached_by=actor,
            )
        )
        record_event(
            session,
            application_id=app_id,
            at=now,
            actor=actor,
            action="attach",
            detail={"kind": kind, "filename": upload.filename, "sha256": upload.sha256},
        )
        added += 1
    session.flush()
    return app, added
