"""verify, revoke, keys: certificates anyone can check."""

from __future__ import annotations

from pathlib import Path

import typer

from arayis_cli.cli.output import JSON_OPT, actor, command, console, emit_json, now, say, state

keys_app = typer.Typer(help="Signing keys: export public keys, rotate.", no_args_is_help=True)


@command
def verify(
    what: str = typer.Argument(..., help="A certificate PDF, its number, or its token/QR URL."),
    offline: bool = typer.Option(
        False, "--offline", help="No database: check the signature and expiry only."
    ),
    public_key: Path = typer.Option(
        None, "--public-key", help="PEM public key(s) for --offline (from 'arayis keys export')."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Tell whether a certificate is authentic and unaltered (exit 0) or not (exit 6)."""
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services import verification

    evidence = verification.read_evidence(what)
    if offline:
        if public_key is None:
            raise InvalidInput("--offline needs --public-key FILE")
        try:
            key_text = public_key.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise InvalidInput(f"cannot read public key file {public_key}") from None
        verdict = verification.verify_offline(evidence, key_text, now=now())
    else:
        from arayis_cli.db import session_scope

        with session_scope(state.db_url, write=False) as session:
            verdict = verification.verify(session, evidence, now=now())
    if as_json:
        emit_json(verdict.as_json())
    elif verdict.valid:
        until = verdict.details.get("valid_until")
        console().print(
            f"[bold green]✓ Arayış {verdict.certificate_number} həqiqidir[/] "
            f"(dəyişdirilməyib, {until} tarixinədək etibarlıdır)."
        )
    else:
        console().print(
            f"[bold red]✗ Arayış {verdict.certificate_number or ''} etibarsızdır:[/] "
            f"{verdict.reason}"
        )
    if not verdict.valid:
        raise typer.Exit(6)


@command
def revoke(
    number: str = typer.Argument(..., help="Certificate number, e.g. AR-2026-000123-4."),
    reason: str = typer.Option(..., "--reason", help="Why it is withdrawn (recorded)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Withdraw a certificate; verification will say it is revoked."""
    from arayis_cli.db import session_scope
    from arayis_cli.present import certificate_json
    from arayis_cli.services.verification import revoke as revoke_certificate

    who = actor()
    with session_scope(state.db_url) as session:
        cert = revoke_certificate(session, number, reason=reason, now=now(), actor=who)
        data = certificate_json(cert)
    if as_json:
        emit_json(data)
    else:
        say(f"Arayış {data['certificate_number']} ləğv edildi.")


@command
def keys_export(
    all_keys: bool = typer.Option(
        False, "--all", help="Every key in the register, not only the current one."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Print the public key(s) verifiers need (PEM)."""
    import sys

    from sqlalchemy import select

    from arayis_cli.certificate.signing import current_signer
    from arayis_cli.db import session_scope
    from arayis_cli.models import SigningKey
    from arayis_cli.services.printing import register_key

    signer = current_signer()
    with session_scope(state.db_url) as session:
        register_key(session, signer, now=now())
        rows = session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars().all()
        keys = [
            {"kid": r.kid, "public_key": r.public_key, "current": r.kid == signer.kid}
            for r in rows
            if all_keys or r.kid == signer.kid
        ]
    if as_json:
        emit_json(keys)
        return
    for key in keys:
        sys.stdout.write(f"# arayis key {key['kid']}{' (current)' if key['current'] else ''}\n")
        sys.stdout.write(key["public_key"])


@command
def keys_rotate(as_json: bool = JSON_OPT) -> None:
    """Start signing with a new key; certificates signed before keep verifying."""
    from arayis_cli.certificate.signing import generate
    from arayis_cli.config import settings
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services.printing import register_key

    if settings().signing_key:
        raise InvalidInput("the signing key is configured by ARAYIS_SIGNING_KEY; rotate it there")
    signer = generate()
    with session_scope(state.db_url) as session:
        register_key(session, signer, now=now())
    if as_json:
        emit_json({"kid": signer.kid})
    else:
        say(f"New signing key {signer.kid} is now current.")


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("revoke")(revoke)
    keys_app.command("export")(keys_export)
    keys_app.command("rotate")(keys_rotate)
    app.add_typer(keys_app, name="keys")
