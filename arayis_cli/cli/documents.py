"""detach, relabel: correct the documents of an open application (attach is in intake)."""

from __future__ import annotations

from typing import Any

import typer

from arayis_cli.cli.output import JSON_OPT, PII_OPT, actor, command, current_run, now, say
from arayis_cli.cli.params import parse_id_param
from arayis_cli.i18n import N_, _, gettext

REASON_HELP = N_("Why (required; kept in the history).")


def _doc_id_argument() -> Any:
    return typer.Argument(
        ..., help=N_("Document number (№ in show)."), parser=parse_id_param, metavar="№"
    )


def _kind_label(kind: str) -> str:
    from arayis_cli.validation import DOCUMENT_KIND_LABELS

    return gettext(DOCUMENT_KIND_LABELS.get(kind, kind))


@command
def detach(
    doc_id: int = _doc_id_argument(),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Detach a document attached by mistake, while the application is open: it no longer
    counts for the checklist; its copy stays in the store and the history says who, when
    and why."""
    from arayis_cli.cli.render import application_payload, show_application
    from arayis_cli.formats import iso_baku
    from arayis_cli.services.documents import detach as detach_document

    with current_run().session() as session:
        doc, app = detach_document(session, doc_id=doc_id, reason=reason, now=now(), actor=actor())
        detached = {
            "id": doc.id,
            "kind": doc.kind,
            "filename": doc.filename,
            "detached_at": iso_baku(doc.detached_at),
            "detached_by": doc.detached_by,
            "reason": doc.detach_reason,
        }
        data = application_payload(session, app, show_pii=show_pii, extra={"detached": detached})
    if not as_json:
        say(
            _("Document №{doc_id} ({kind}: {filename}) detached.").format(
                doc_id=doc_id, kind=_kind_label(detached["kind"]), filename=detached["filename"]
            )
        )
    show_application(data, as_json=as_json)


@command
def relabel(
    doc_id: int = _doc_id_argument(),
    kind: str = typer.Argument(
        ...,
        help=N_("The right kind: id-card, ownership, power-of-attorney or other."),
        metavar="KIND",
    ),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """File a document under the right kind, while the application is open (the history
    keeps the kind before)."""
    from arayis_cli.cli.render import application_payload, show_application
    from arayis_cli.services.documents import relabel as relabel_document

    with current_run().session() as session:
        doc, app = relabel_document(
            session, doc_id=doc_id, kind=kind, reason=reason, now=now(), actor=actor()
        )
        data = application_payload(
            session, app, show_pii=show_pii, extra={"relabelled": {"id": doc.id, "kind": doc.kind}}
        )
    if not as_json:
        say(
            _("Document №{doc_id} is now filed as {kind}.").format(
                doc_id=doc_id, kind=_kind_label(doc.kind)
            )
        )
    show_application(data, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("detach")(detach)
    app.command("relabel")(relabel)
