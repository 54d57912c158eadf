"""outbox list: the emails the tool decided to send, and their delivery state."""

from __future__ import annotations

from typing import Any

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    PII_OPT,
    actor,
    bad,
    command,
    current_run,
    emit_json,
    good,
    join,
    muted,
    say,
    show,
)
from arayis_cli.cli.params import app_id_argument, count_option, id_option
from arayis_cli.i18n import N_, _, ngettext

outbox_app = typer.Typer(
    help=N_("Emails to subscribers: the queue and its delivery state."), no_args_is_help=True
)


@command
def outbox_list(
    pending: bool = typer.Option(False, "--pending", help=N_("Only messages not yet delivered.")),
    failed: bool = typer.Option(False, "--failed", help=N_("Only messages that failed for good.")),
    app_id: int = id_option("--application", help=N_("Only this application's emails.")),
    limit: int = count_option(None, "--limit", help=N_("At most N messages.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Show queued emails, oldest first."""
    from arayis_cli.present import outbox_json
    from arayis_cli.services.outbox import messages

    with current_run().session(write=False) as session:
        found = messages(
            session, pending=pending, failed=failed, application_id=app_id, limit=limit
        )
        rows = [outbox_json(m, show_pii=show_pii) for m in found]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        show(muted(_("No emails in the outbox.")))
        return
    from arayis_cli.cli.render import outbox_list_table

    show(outbox_list_table(rows, title=_("Emails (outbox)")))


@command
def outbox_send(
    limit: int = count_option(100, "--limit", help=N_("Send at most N messages in this run.")),
    dry_run: bool = typer.Option(
        False, "--dry-run", help=N_("Show what would be sent; send nothing.")
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help=(
            N_(
                "Send now, ignoring the backoff of pending messages, and re-send messages "
                "stranded in 'sending' longer than the 10-minute lease (same Message-ID)."
            )
        ),
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Deliver queued emails over SMTP (ARAYIS_SMTP_URL, ARAYIS_MAIL_FROM), each once."""
    import os
    import socket
    import uuid

    from arayis_cli.cli.output import now
    from arayis_cli.errors import InvalidInput
    from arayis_cli.present import outbox_json
    from arayis_cli.services import outbox

    if limit <= 0:
        raise InvalidInput(_("--limit must be a positive whole number"))
    if dry_run:
        with current_run().session(write=False) as session:
            rows = [
                outbox_json(m, show_pii=show_pii)
                for m in outbox.preview(session, now=now(), limit=limit, force=force)
            ]
        if as_json:
            emit_json({"dry_run": True, "would_send": rows})
        else:
            from arayis_cli.cli.render import EMAIL_KINDS, code_label

            show(
                ngettext(
                    "{n} email would be sent (dry run, nothing sent).",
                    "{n} emails would be sent (dry run, nothing sent).",
                    len(rows),
                ).format(n=len(rows)),
                *(
                    f"  №{m['id']} {code_label(EMAIL_KINDS, m['kind'])} → {m['to']}: {m['subject']}"
                    for m in rows
                ),
            )
        return
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    run = current_run()
    report = outbox.deliver(
        run.session,
        clock=now,
        worker=worker,
        limit=limit,
        smtp_url=run.settings.smtp_url,
        mail_from=run.settings.mail_from,
        force=force,
    )
    if as_json:
        emit_json(report.as_json())
    else:
        _show_send_report(report)
    if report.unreachable is not None:
        from arayis_cli.errors import Unavailable

        server, why = report.unreachable
        raise Unavailable(
            _(
                "the SMTP server {server} cannot be reached: {why}; the emails stay queued "
                "and the next run retries them"
            ).format(server=server, why=why)
        )


def _show_send_report(report: Any) -> None:
    from rich.table import Table

    from arayis_cli.cli.render import EMAIL_KINDS, OUTBOX_STATES, code_label

    show(
        join(
            good(_("{report_sent} sent").format(report_sent=report.sent)),
            ", " + _("{retry} to retry later").format(retry=report.retry) + ", ",
            bad(_("{report_failed} failed").format(report_failed=report.failed)),
        )
    )
    if report.messages:
        table = Table(title=_("Sending"), title_justify="left")
        for col in ("№", _("Application"), _("Kind"), _("Status"), _("Error")):
            table.add_column(col)
        for m in report.messages:
            table.add_row(
                str(m["id"]),
                str(m["application_id"]),
                code_label(EMAIL_KINDS, m["kind"]),
                code_label(OUTBOX_STATES, m["status"]),
                # The error in the operator's words; the server's own reply is kept with
                # the message for support staff (outbox show, --json "detail").
                m["message"] or "",
            )
        show(table)


@command
def outbox_retry(
    msg_id: int = app_id_argument(help=N_("The email's number (outbox list).")),
    to: str = typer.Option(
        None, "--to", help=N_("Corrected address; also becomes the application's contact email.")
    ),
    reason: str = typer.Option(None, "--reason", help=N_("Why, recorded in the history.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Put a failed (or stranded 'sending') email back in the queue, optionally to a
    corrected address; recorded in the application's history."""
    from arayis_cli.cli.output import now
    from arayis_cli.present import outbox_json
    from arayis_cli.services.outbox import retry
    from arayis_cli.validation import clean_text, parse_email

    address = parse_email(to) if to is not None else None
    why = clean_text(reason, N_("reason"), required=False) or None
    who = actor()
    with current_run().session() as session:
        msg = retry(session, msg_id, to=address, reason=why, now=now(), actor=who)
        shown = outbox_json(msg, show_pii=show_pii)
    if as_json:
        emit_json(shown)
    else:
        say(_("Email №{id} is queued again → {to}.").format(id=shown["id"], to=shown["to"]))


@command
def outbox_show(
    msg_id: int = app_id_argument(help=N_("Message number (№ in outbox list).")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """One email in full: headers, body, delivery state, attempts and the last error."""
    from arayis_cli.present import outbox_message_json
    from arayis_cli.services.support import outbox_message

    # The sender is not stored with the message: it is the one `outbox send` uses.
    sender = current_run().settings.mail_from
    with current_run().session(write=False) as session:
        data = outbox_message_json(
            outbox_message(session, msg_id), show_pii=show_pii, sender=sender
        )
    if as_json:
        emit_json(data)
        return
    from arayis_cli.cli.render import print_outbox_message

    print_outbox_message(data)


def register(app: typer.Typer) -> None:
    outbox_app.command("list")(outbox_list)
    outbox_app.command("show")(outbox_show)
    outbox_app.command("send")(outbox_send)
    outbox_app.command("retry")(outbox_retry)
    app.add_typer(outbox_app, name="outbox")
