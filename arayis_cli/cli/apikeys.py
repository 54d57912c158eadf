"""api-key: the clients of the portal API (``/api/v1`` in ``arayis serve``)."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, actor, command, current_run, emit_json, now, say
from arayis_cli.i18n import N_, _

api_key_app = typer.Typer(
    help=N_("Clients of the portal API and their keys: create, list, revoke."),
    no_args_is_help=True,
)


@command
def create(
    name: str = typer.Argument(..., help=N_("Client name, e.g. egov or azersu.")),
    scope: str = typer.Option(
        ..., "--scope", help=N_("Comma-separated scopes: submit, status, print.")
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Create a client and print its key once (only a hash of it is kept)."""
    from arayis_cli.services.apikeys import create as create_client
    from arayis_cli.services.apikeys import parse_name, parse_scopes

    scopes = parse_scopes(scope)
    name = parse_name(name)
    who = actor()
    with current_run().session() as session:
        client, key = create_client(session, name, scopes, now=now(), actor=who)
    data = {"name": client.name, "key": key, "scopes": list(scopes)}
    if as_json:
        emit_json(data)
        return
    say(
        _("API client {name} created (scopes: {scopes}). Its key, shown only now:").format(
            name=client.name, scopes=", ".join(scopes)
        )
    )
    from arayis_cli.cli.output import emit_text

    emit_text(key + "\n")


@command
def list_(as_json: bool = JSON_OPT) -> None:
    """Every API client, its scopes, and whether it is revoked (never the keys)."""
    from arayis_cli.formats import iso_baku
    from arayis_cli.services.apikeys import clients

    with current_run().session(write=False) as session:
        rows = [
            {
                "name": c.name,
                "scopes": [s for s in c.scopes.split(",") if s],
                "created_at": iso_baku(c.created_at),
                "created_by": c.created_by,
                "revoked_at": iso_baku(c.revoked_at),
                "revoked_by": c.revoked_by,
            }
            for c in clients(session)
        ]
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    from arayis_cli.cli.output import show

    table = Table(title=_("API clients"))
    for header in (_("Name"), _("Scopes"), _("Created"), _("Revoked")):
        table.add_column(header)
    for row in rows:
        table.add_row(
            row["name"],
            ", ".join(row["scopes"]),
            (row["created_at"] or "")[:16],
            (row["revoked_at"] or "—")[:16],
        )
    show(table)


@command
def revoke(
    name: str = typer.Argument(..., help=N_("Client name.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Revoke a client's key: its calls are refused (401) from now on."""
    from arayis_cli.formats import iso_baku
    from arayis_cli.services.apikeys import revoke as revoke_client

    who = actor()
    with current_run().session() as session:
        client = revoke_client(session, name, now=now(), actor=who)
    if as_json:
        emit_json({"name": client.name, "revoked_at": iso_baku(client.revoked_at)})
    else:
        say(_("API client {name} revoked.").format(name=client.name))


def register(app: typer.Typer) -> None:
    api_key_app.command("create")(create)
    api_key_app.command("list")(list_)
    api_key_app.command("revoke")(revoke)
    app.add_typer(api_key_app, name="api-key")
