"""outbox list: the emails the tool decided to send, and their delivery state."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, PII_OPT, command, console, emit_json, state
from arayis_cli.cli.params import count_option, id_option

outbox_app = typer.Typer(
    help="Emails to subscribers: the queue and its delivery state.", no_args_is_help=True
)


@command
def outbox_list(
    pending: bool = typer.Option(False, "--pending", help="Only messages not yet delivered."),
    failed: bool = typer.Option(False, "--failed", help="Only messages that failed for good."),
    app_id: int = id_option("--application", help="Only this application's emails."),
    limit: int = count_option(None, "--limit", help="At most N messages."),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Show queued emails, oldest first."""
    from sqlalchemy import select

    from arayis_cli.db import session_scope
    from arayis_cli.models import OutboxMessage
    from arayis_cli.present import outbox_json

    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    wanted = [s for s, on in (("pending", pending), ("sending", pending), ("failed", failed)) if on]
    if wanted:
        stmt = stmt.where(OutboxMessage.status.in_(wanted))
    if app_id is not None:
        from sqlalchemy import false

        from arayis_cli.services.common import STORED_ID_MAX

        # A larger id is valid input that names nothing (PostgreSQL cannot compare it).
        stmt = stmt.where(
            OutboxMessage.application_id == app_id if app_id <= STORED_ID_MAX else false()
        )
    if limit is not None:
        stmt = stmt.limit(max(0, limit))
    with session_scope(state.db_url, write=False) as session:
        rows = [outbox_json(m, show_pii=show_pii) for m in session.execute(stmt).scalars()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console().print("[dim]Növbədə məktub yoxdur.[/]")
        return
    from arayis_cli.cli.render import emails_table

    table = emails_table(rows, title="Məktublar (outbox)", with_application=True)
    console().print(table)


@command
def outbox_send(
    limit: int = count_option(100, "--limit", help="Send at most N messages in this run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent; send nothing."),
    force: bool = typer.Option(
        False, "--force", help="Retry now, ignoring backoff (and re-send stale 'sending')."
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Deliver queued emails over SMTP (ARAYIS_SMTP_URL, ARAYIS_MAIL_FROM), each once."""
    import os
    import socket
    import uuid

    from rich.table import Table

    from arayis_cli.cli.output import now
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.present import outbox_json
    from arayis_cli.services import outbox

    if limit <= 0:
        raise InvalidInput("--limit must be a positive whole number")
    if dry_run:
        with session_scope(state.db_url, write=False) as session:
            rows = [
                outbox_json(m, show_pii=show_pii)
                for m in outbox.preview(session, now=now(), limit=limit, force=force)
            ]
        if as_json:
            emit_json({"dry_run": True, "would_send": rows})
        else:
            console().print(f"{len(rows)} məktub göndəriləcək (dry run, heç nə göndərilmədi).")
            for m in rows:
                console().print(f"  №{m['id']} {m['kind']} → {m['to']}: {m['subject']}")
        return
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    report = outbox.deliver(
        lambda: session_scope(state.db_url), clock=now, worker=worker, limit=limit, force=force
    )
    if as_json:
        emit_json(report.as_json())
        return
    console().print(
        f"[green]{report.sent} göndərildi[/], {report.retry} sonra yenidən, "
        f"[red]{report.failed} uğursuz[/]"
    )
    if report.messages:
        table = Table(title="Göndərmə", title_justify="left")
        for col in ("№", "Müraciət", "Növ", "Status", "Xəta"):
            table.add_column(col)
        for m in report.messages:
            table.add_row(
                str(m["id"]), str(m["application_id"]), m["kind"], m["status"], m["error"] or ""
            )
        console().print(table)


def register(app: typer.Typer) -> None:
    outbox_app.command("list")(outbox_list)
    outbox_app.command("send")(outbox_send)
    app.add_typer(outbox_app, name="outbox")
