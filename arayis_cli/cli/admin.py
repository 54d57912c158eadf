"""db upgrade, check, backup, roles; stats."""

from __future__ import annotations

from pathlib import Path

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    bad,
    command,
    current_run,
    emit_json,
    good,
    join,
    now,
    say,
    show,
)
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, _

db_app = typer.Typer(help=N_("Database maintenance."), no_args_is_help=True)


@command
def db_upgrade(as_json: bool = JSON_OPT) -> None:
    """Migrate the database to the current schema (any database, SQLite or PostgreSQL);
    on PostgreSQL with roles set up, their grants are applied again (new tables too)."""
    from arayis_cli.migrations import HEAD
    from arayis_cli.services.roles import ensure_grants

    run = current_run()
    run.engines.upgrade(run.db_url)
    grants = False
    if run.db_url.startswith(("postgresql", "postgres:")):
        with run.session() as session:
            grants = ensure_grants(session)
    if as_json:
        emit_json({"revision": HEAD, "grants": grants})
    else:
        say(_("Database is at schema revision {HEAD}.").format(HEAD=HEAD))
        if grants:
            say(_("The roles' grants were applied again."))


@command
def db_check(
    head_file: Path = typer.Option(
        None,
        "--head",
        help=N_(
            "A signed head kept earlier (`register head --json`): prove nothing before it "
            "was rewritten."
        ),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Verify the store: integrity, every document's SHA-256, history and outbox in step,
    and the hash chain over every kept record. Exit 6 with a report when anything is wrong."""
    from arayis_cli.services.chainhead import read_head
    from arayis_cli.services.dbcheck import check

    head = read_head(head_file) if head_file is not None else None
    run = current_run()
    with run.session(write=False) as session:
        report = check(session, now=now(), head=head, keys=run.keys())
    if as_json:
        emit_json(report.as_json())
    else:
        counts = _checked_counts(report.checked)
        if report.ok:
            show(join(good(_("✓ The store is whole")), f" ({counts})."))
        else:
            show(
                join(
                    bad(
                        _("✗ {report_problems} problem(s)").format(
                            report_problems=len(report.problems)
                        )
                    ),
                    f" ({counts}):",
                ),
                *(f"  - {line}" for line in report.problems),
            )
    if not report.ok:
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


@command
def db_backup(
    path: Path = typer.Argument(..., help=N_("Where to write the copy (must not exist).")),
    as_json: bool = JSON_OPT,
) -> None:
    """Copy the embedded SQLite store consistently while others keep working, then check
    the copy (db check). Never overwrites; for PostgreSQL use pg_dump."""
    from arayis_cli.services.backup import backup

    run = current_run()
    result = backup(run.db_url, path, now=now(), engines=run.engines)
    report = result.check
    if as_json:
        emit_json(result.as_json())
    else:
        counts = _checked_counts(report.checked)
        say(
            _("Backup written: {result_path} ({result_size} bytes).").format(
                result_path=result.path, result_size=result.size
            )
        )
        if report.ok:
            say(good(_("✓ db check of the copy: whole ({counts}).").format(counts=counts)))
        else:
            say(
                bad(
                    _("✗ db check of the copy: {report_problems} problem(s):").format(
                        report_problems=len(report.problems)
                    )
                )
            )
            for line in report.problems:
                say(f"  - {line}")
    if not report.ok:
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


@command
def db_roles(as_json: bool = JSON_OPT) -> None:
    """Create the group roles arayis_support, _clerk, _approver, _billing, _admin and their
    grants and checks in this PostgreSQL database (idempotent; run again after db upgrade)."""
    from arayis_cli.services.roles import install

    with current_run().session() as session:
        result = install(session)
    if as_json:
        emit_json({**result, "installed": True})
    else:
        say(
            _(
                "Roles set up: {roles}. Grant them to personal logins: "
                "GRANT arayis_clerk TO <login>;"
            ).format(roles=", ".join(result["roles"]))
        )


@command
def stats(as_json: bool = JSON_OPT) -> None:
    """Counts by status, overdue, processing-time figures (working days)."""
    from rich.table import Table

    from arayis_cli.services.common import baku_date
    from arayis_cli.services.stats import stats as compute
    from arayis_cli.workflow import Status

    with current_run().session(write=False) as session:
        data = compute(session, today=baku_date(now()))
    if as_json:
        emit_json(data)
        return
    table = Table(title=_("Statistics"), title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for status in Status:
        table.add_row(status.label, str(data["by_status"][status.value]))
    table.add_row(_("Total"), str(data["total"]))
    table.add_row(_("Overdue (open, past due)"), str(data["overdue"]))
    table.add_row(_("Decided"), str(data["decided"]))
    table.add_row(_("Decided late"), str(data["decided_late"]))
    median = data["median_working_days_to_decision"]
    table.add_row(
        _("Until the decision (median, working days)"), "—" if median is None else f"{median:g}"
    )
    worst = data["max_working_days_to_decision"]
    table.add_row(
        _("Until the decision (longest, working days)"), "—" if worst is None else str(worst)
    )
    show(table)


def register(app: typer.Typer) -> None:
    db_app.command("upgrade")(db_upgrade)
    db_app.command("check")(db_check)
    db_app.command("backup")(db_backup)
    db_app.command("roles")(db_roles)
    app.add_typer(db_app, name="db")
    app.command("stats")(stats)


#: What ``db check`` counted, as people name it (JSON keeps the table names).
CHECKED = {
    "document_blobs": N_("document files"),
    "applications": N_("applications"),
    "certificates": N_("certificates"),
    "emails": N_("emails"),
    "chain": N_("chain links"),
    "counters": N_("certificate counters"),
}


def _checked_counts(checked: dict[str, int]) -> str:
    from arayis_cli.cli.render import code_label

    return ", ".join(f"{n} {code_label(CHECKED, what)}" for what, n in checked.items())
