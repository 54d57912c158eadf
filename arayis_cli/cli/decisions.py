"""review, reject, approve, print: the decisions staff take on an application."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from arayis_cli.cli.intake import _show_application
from arayis_cli.cli.output import JSON_OPT, PII_OPT, actor, command, emit_json, now, say, state


@command
def review(
    app_id: int = typer.Argument(None, help="Application number."),
    next_: bool = typer.Option(False, "--next", help="Claim the oldest Yeni application."),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Take an application into work (Yeni → İcrada olan) and show the checklist."""
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services import decisions

    if (app_id is None) == (not next_):
        raise InvalidInput("give an application number or --next (not both)")
    who = actor()
    with session_scope(state.db_url) as session:
        if next_:
            app, check = decisions.review_next(session, now=now(), actor=who)
        else:
            app, check = decisions.review(session, app_id, now=now(), actor=who)
        claimed = app.id or 0
    if not as_json:
        say(f"Müraciət №{claimed} icraya götürüldü (İcrada olan).")
    _show_application(
        claimed, as_json=as_json, show_pii=show_pii, extra={"checklist": check.as_json()}
    )


@command
def reject(
    app_id: int = typer.Argument(..., help="Application number."),
    reason: str = typer.Option(..., "--reason", help="Why the documents are refused."),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Refuse the application (Ləğv olunmuş) and queue the email with the reason."""
    from arayis_cli.db import session_scope
    from arayis_cli.services import decisions

    who = actor()
    with session_scope(state.db_url) as session:
        decisions.reject(session, app_id, reason=reason, now=now(), actor=who)
    if not as_json:
        say(f"Müraciət №{app_id} ləğv olundu; abonentə məktub növbəyə qoyuldu.")
    _show_application(app_id, as_json=as_json, show_pii=show_pii)


@command
def approve(
    app_id: int = typer.Argument(..., help="Application number."),
    override: str = typer.Option(
        None, "--override", help="Approve although the checklist fails; says why (recorded)."
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Complete the application (İcra olunmuş), check the debt and queue the email."""
    from arayis_cli.db import session_scope
    from arayis_cli.money import money_human, money_json
    from arayis_cli.services import decisions

    who = actor()
    with session_scope(state.db_url) as session:
        _, debt = decisions.approve(session, app_id, override=override, now=now(), actor=who)
    if not as_json:
        if debt > 0:
            say(
                f"Müraciət №{app_id} icra olundu. [yellow]Borc: {money_human(debt)}[/] — "
                "abonentə əvvəlcə borcu ödəməsi barədə məktub növbəyə qoyuldu."
            )
        else:
            say(f"Müraciət №{app_id} icra olundu. Borc yoxdur — arayış çap oluna bilər.")
    _show_application(app_id, as_json=as_json, show_pii=show_pii, extra={"debt": money_json(debt)})


@command
def print_(
    app_id: int = typer.Argument(..., help="Application number."),
    out: Path = typer.Option(
        None, "--out", help="Where to write the PDF (default: ./<certificate number>.pdf)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Çap et: re-check the debt now; no debt writes the certificate PDF, debt refuses (exit 3)."""
    from arayis_cli.formats import iso_baku

    issued, target = print_to_file(state.db_url, app_id, out=out, actor=actor())
    number = issued.certificate.number
    data = {
        "certificate_number": number,
        "application_id": app_id,
        "path": str(target),
        "issued_at": iso_baku(issued.certificate.issued_at),
        "valid_until": issued.certificate.valid_until.isoformat(),
        "debt": "0.00",
    }
    if as_json:
        emit_json(data)
    else:
        from arayis_cli.cli.output import console

        console().print(
            f"[green]Arayış {number} hazırdır[/]: {target} "
            f"(borc yoxdur, {data['valid_until']} tarixinədək etibarlıdır)"
        )


def print_to_file(url: str, app_id: int, *, out: Path | None, actor: str) -> tuple[Any, Path]:
    """Issue a certificate and write its PDF: the file is written before the commit and
    moved into place after it, so there is no certificate without its file and no file
    without its register entry. ``out`` may be a file path or a folder (default: here).
    """
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services.printing import print_certificate

    if out is not None and not out.is_dir() and not out.parent.is_dir():
        raise InvalidInput(f"folder does not exist: {out.parent}")
    tmp: Path | None = None
    try:
        with session_scope(url) as session:
            issued = print_certificate(session, app_id, now=now(), actor=actor)
            name = f"{issued.certificate.number}.pdf"
            target = (out or Path.cwd()) / name if out is None or out.is_dir() else out
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(issued.pdf)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return issued, target


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("reject")(reject)
    app.command("approve")(approve)
    app.command("print")(print_)
