"""staff add/list/remove: the names printed on certificates as the responsible person."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, actor, command, current_run, emit_json, now, say, show
from arayis_cli.i18n import N_, _

staff_app = typer.Typer(
    help=N_("The staff register: display names printed on certificates."), no_args_is_help=True
)


@command
def staff_add(
    login: str = typer.Argument(..., help=N_("PostgreSQL login, or the operator name on SQLite.")),
    name: str = typer.Option(..., "--name", help=N_("Full name as printed on certificates.")),
    title: str = typer.Option(None, "--title", help=N_("Job title printed beside the name.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Register (or correct) the name printed on the certificates this login issues."""
    from arayis_cli.services import staff

    with current_run().session() as session:
        data = staff.staff_json(
            staff.add(session, login, name=name, title=title, now=now(), actor=actor())
        )
    if as_json:
        emit_json(data)
    else:
        say(_("{login} is printed as: {name}").format(login=data["login"], name=data["name"]))


@command
def staff_list(as_json: bool = JSON_OPT) -> None:
    """The staff register."""
    from arayis_cli.services import staff

    with current_run().session(write=False) as session:
        rows = [staff.staff_json(row) for row in staff.listing(session)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say(_("Nobody is registered: certificates leave the name blank, to be written by hand."))
        return
    from rich.table import Table

    table = Table(title=_("Staff"), title_justify="left")
    for col in (_("Login"), _("Name"), _("Title")):
        table.add_column(col)
    for row in rows:
        table.add_row(row["login"], row["name"], row["title"] or "")
    show(table)


@command
def staff_remove(
    login: str = typer.Argument(..., help=N_("The login to remove.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Remove a login from the staff register (its certificates keep the name they bear)."""
    from arayis_cli.services import staff

    with current_run().session() as session:
        data = staff.staff_json(staff.remove(session, login))
    if as_json:
        emit_json(data)
    else:
        say(_("{login} removed from the staff register.").format(login=data["login"]))


def register(app: typer.Typer) -> None:
    staff_app.command("add")(staff_add)
    staff_app.command("list")(staff_list)
    staff_app.command("remove")(staff_remove)
    app.add_typer(staff_app, name="staff")
