"""outbox list: the emails the tool decided to send, and their delivery state."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, PII_OPT, command, console, emit_json, state

outbox_app = typer.Typer(
    help="Emails to subscribers: the queue and its delivery state.", no_args_is_help=True
)


@command
def outbox_list(
    pending: bool = typer.Option(False, "--pending", help="Only messages not yet delivered."),
    failed: bool = typer.Option(False, "--failed", help="Only messages that failed for good."),
    app_id: int = typer.Option(None, "--application", help="Only this application's emails."),
    limit: int = typer.Option(None, "--limit", help="At most N messages."),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Show queued emails, oldest first."""
    from rich.table import Table
    from sqlalchemy import select

    from arayis_cli.db import session_scope
    from arayis_cli.models import OutboxMessage
    from arayis_cli.present import outbox_json

    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    wanted = [s for s, on in (("pending", pending), ("sending", pending), ("failed", failed)) if on]
    if wanted:
        stmt = stmt.where(OutboxMessage.status.in_(wanted))
    if app_id is not None:
        stmt = stmt.where(OutboxMessage.application_id == app_id)
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
    table = Table(title="Məktublar (outbox)", title_justify="left")
    for col in ("№", "Müraciət", "Növ", "Kimə", "Mövzu", "Status", "Cəhd"):
        table.add_column(col)
    for m in rows:
        table.add_row(
            str(m["id"]),
            str(m["application_id"]),
            m["kind"],
            m["to"],
            m["subject"],
            m["status"],
            str(m["attempts"]),
        )
    console().print(table)


def register(app: typer.Typer) -> None:
    outbox_app.command("list")(outbox_list)
    app.add_typer(outbox_app, name="outbox")
