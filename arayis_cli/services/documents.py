"""Document copies (sənədlərin surəti): read, sniff by content, store once per content."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.errors import Conflict, InvalidInput, NotFound
from arayis_cli.formats import fmt_datetime
from arayis_cli.i18n import N_, _, gettext
from arayis_cli.models import Application, Document, DocumentBlob
from arayis_cli.services.common import (
    STORED_ID_MAX,
    get_application,
    insert_ignore,
    record_event,
)
from arayis_cli.validation import DOCUMENT_KIND_LABELS, clean_text, parse_document_kind
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


def _open_application(session: Session, app_id: int, *, doing: str) -> Application:
    """The application, locked, refusing unless it is open (new or in progress)."""
    app = get_application(session, app_id, for_update=True)
    if Status(app.status) not in OPEN_STATUSES:
        raise Conflict(doing.format(app_id=app_id, label=Status(app.status).label))
    return app


def attach(
    session: Session,
    *,
    app_id: int,
    uploads: list[Upload],
    kind: str,
    now: datetime,
    actor: str,
) -> tuple[Application, int]:
    """Store every upload or none; returns the application and how many were new.

    The same bytes again are stored once: attached already (under any kind), they are
    skipped (:func:`relabel` changes a kind); detached earlier, they are attached again,
    under ``kind``, and the history says so."""
    kind = parse_document_kind(kind)
    app = _open_application(
        session,
        app_id,
        doing=_("application {app_id} is {label}: documents can be attached only while it is open"),
    )
    present = {
        doc.sha256: doc
        for doc in session.execute(
            select(Document).where(Document.application_id == app_id)
        ).scalars()
    }
    added = 0
    for upload in uploads:
        earlier = present.get(upload.sha256)
        if earlier is not None and earlier.detached_at is None:
            continue
        if earlier is not None:  # detached before: the same row comes back
            earlier.kind, earlier.filename = kind, upload.filename
            earlier.attached_at, earlier.attached_by = now, actor
            earlier.detached_at = earlier.detached_by = earlier.detach_reason = None
            doc_id = earlier.id
        else:
            insert_ignore(
                session,
                DocumentBlob,
                {"sha256": upload.sha256, "size": len(upload.content), "content": upload.content},
            )
            doc = Document(
                application_id=app_id,
                kind=kind,
                filename=upload.filename,
                media_type=upload.media_type,
                size=len(upload.content),
                sha256=upload.sha256,
                attached_at=now,
                attached_by=actor,
            )
            session.add(doc)
            session.flush()
            present[upload.sha256] = doc
            doc_id = doc.id
        detail: dict[str, Any] = {"kind": kind, "filename": upload.filename}
        if earlier is not None:
            detail["document"] = doc_id
        detail["sha256"] = upload.sha256
        record_event(
            session, application_id=app_id, at=now, actor=actor, action="attach", detail=detail
        )
        added += 1
    session.flush()
    return app, added


def attached_kinds(session: Session, app_id: int) -> dict[str, tuple[int, str]]:
    """SHA-256 → (document id, kind) of the documents attached now (not detached)."""
    if not 1 <= app_id <= STORED_ID_MAX:  # beyond the column: no such application
        return {}
    return {
        sha: (doc_id, kind)
        for doc_id, sha, kind in session.execute(
            select(Document.id, Document.sha256, Document.kind).where(
                Document.application_id == app_id,
                Document.detached_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    }


def _attached_document(session: Session, doc_id: int) -> tuple[Document, Application]:
    """The document (attached now) and its application, locked: open applications only."""
    if not 1 <= doc_id <= STORED_ID_MAX:
        raise NotFound(_("document {doc_id} not found").format(doc_id=doc_id))
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound(_("document {doc_id} not found").format(doc_id=doc_id))
    app = _open_application(
        session,
        doc.application_id,
        doing=_(
            "application {app_id} is {label}: its documents can be changed only while it is open"
        ),
    )
    session.refresh(doc, with_for_update=True)
    if doc.detached_at is not None:
        raise Conflict(
            _("document {doc_id} was detached already ({at}, {who})").format(
                doc_id=doc_id, at=fmt_datetime(doc.detached_at), who=doc.detached_by
            )
        )
    return doc, app


def detach(
    session: Session, *, doc_id: int, reason: str, now: datetime, actor: str
) -> tuple[Document, Application]:
    """Detach a document (soft): the row and its bytes stay, with who, when and why; it no
    longer counts for the checklist or the subscriber's view. Only while the application is
    open; recorded in the history. With four eyes on, whoever detaches may not decide."""
    reason = clean_text(reason, N_("reason"))
    doc, app = _attached_document(session, doc_id)
    doc.detached_at, doc.detached_by, doc.detach_reason = now, actor, reason
    record_event(
        session,
        application_id=app.id or 0,
        at=now,
        actor=actor,
        action="detach",
        detail={
            "document": doc_id,
            "kind": doc.kind,
            "filename": doc.filename,
            "reason": reason,
            "sha256": doc.sha256,
        },
    )
    session.flush()
    return doc, app


def relabel(
    session: Session, *, doc_id: int, kind: str, reason: str, now: datetime, actor: str
) -> tuple[Document, Application]:
    """File a document under another kind (a copy filed under the wrong kind); the history
    keeps the kind before. The same rules as :func:`detach`."""
    kind = parse_document_kind(kind)
    reason = clean_text(reason, N_("reason"))
    doc, app = _attached_document(session, doc_id)
    if doc.kind == kind:
        raise Conflict(
            _("document {doc_id} is filed as {kind} already").format(
                doc_id=doc_id, kind=gettext(DOCUMENT_KIND_LABELS.get(kind, kind))
            )
        )
    before, doc.kind = doc.kind, kind
    record_event(
        session,
        application_id=app.id or 0,
        at=now,
        actor=actor,
        action="relabel",
        detail={"document": doc_id, "was": before, "kind": kind, "reason": reason},
    )
    session.flush()
    return doc, app


def check_history(session: Session, problem: Callable[[str], None]) -> None:
    """``db check``: each document is as its history leaves it — detached exactly when its
    last attach/detach was a detach, and of the kind its last attach or relabel gave it. A
    detach or relabel made by hand (even one the hash chain linked, as PostgreSQL's triggers
    do for any write) has no history row and is a finding."""
    import json

    from arayis_cli.models import Event

    expected: dict[tuple[int, str], tuple[str, bool]] = {}  # (app, sha256) → (kind, detached)
    by_id: dict[int, tuple[int, str]] = {}
    for doc_id, app_id, sha in session.execute(
        select(Document.id, Document.application_id, Document.sha256)
    ):
        by_id[doc_id] = (app_id, sha)
    for app_id, action, detail in session.execute(
        select(Event.application_id, Event.action, Event.detail)
        .where(Event.action.in_(("attach", "detach", "relabel")))  # type: ignore[attr-defined]
        .order_by(Event.id)
    ):
        try:
            facts = json.loads(detail) if detail else {}
        except ValueError:
            continue  # a damaged history row is the chain's finding
        if not isinstance(facts, dict):
            continue
        doc = by_id.get(facts["document"]) if isinstance(facts.get("document"), int) else None
        key = (app_id, str(facts.get("sha256"))) if action == "attach" else doc
        if key is None:
            continue
        kind, detached = expected.get(key, ("", False))
        if action == "attach":
            expected[key] = (str(facts.get("kind")), False)
        elif action == "detach":
            expected[key] = (kind, True)
        else:
            expected[key] = (str(facts.get("kind")), detached)
    for doc_id, app_id, sha, kind, detached_at in session.execute(
        select(
            Document.id,
            Document.application_id,
            Document.sha256,
            Document.kind,
            Document.detached_at,
        ).order_by(Document.id)
    ):
        want = expected.get((app_id, sha))
        if want is None:
            continue  # attached before the history named the bytes: nothing to compare
        if want[1] != (detached_at is not None):
            problem(
                _(
                    "application {app_id}: document {doc_id} is {state} but its history says "
                    "otherwise (changed outside arayis)"
                ).format(
                    app_id=app_id,
                    doc_id=doc_id,
                    state=_("detached") if detached_at is not None else _("attached"),
                )
            )
        elif want[0] != kind:
            problem(
                _(
                    "application {app_id}: document {doc_id} is filed as {kind}, its history "
                    "says {expected} (changed outside arayis)"
                ).format(
                    app_id=app_id,
                    doc_id=doc_id,
                    kind=gettext(DOCUMENT_KIND_LABELS.get(kind, kind)),
                    expected=gettext(DOCUMENT_KIND_LABELS.get(want[0], want[0])),
                )
            )
