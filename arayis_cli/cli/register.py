"""register head: the hash chain's signed head, for the office to keep elsewhere."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, command, current_run, emit_json, emit_text, now
from arayis_cli.i18n import N_, _

register_app = typer.Typer(help=N_("The register's hash chain."), no_args_is_help=True)


@command
def register_head(as_json: bool = JSON_OPT) -> None:
    """Print the chain's head signed with the signing key; keep it outside the store
    (a daily cron job) so that `db check --head FILE` can prove nothing was rewritten."""
    from arayis_cli.services.chainhead import signed_head

    run = current_run()
    with run.session(write=False) as session:
        head = signed_head(session, now=now(), place=run.keys())
    if as_json:
        emit_json(head)
        return
    # Unwrapped lines on stdout: the signature must survive a copy into a file or a note.
    emit_text(
        _("Chain head: position {position}, hash {hash}").format(
            position=head["position"], hash=head["hash"]
        )
        + "\n"
        + _("Signed at {at} by key {key_id}: {signature}").format(
            at=head["at"], key_id=head["key_id"], signature=head["signature"]
        )
        + "\n"
    )


def register(app: typer.Typer) -> None:
    register_app.command("head")(register_head)
    app.add_typer(register_app, name="register")
