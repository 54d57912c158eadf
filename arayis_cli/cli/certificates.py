"""verify, revoke, keys: certificates anyone can check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    actor,
    bad,
    command,
    current_run,
    emit_json,
    emit_text,
    good,
    join,
    now,
    say,
    show,
)
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, _

if TYPE_CHECKING:
    from arayis_cli.services.verification import Check, Verdict

keys_app = typer.Typer(
    help=N_("Signing keys: init, export public keys, rotate, retire."), no_args_is_help=True
)


@command
def verify(
    what: str = typer.Argument(..., help=N_("A certificate PDF, its number, or its token/QR URL.")),
    offline: bool = typer.Option(
        False, "--offline", help=N_("No database: check the signature and expiry only.")
    ),
    public_key: Path = typer.Option(
        None,
        "--public-key",
        help=N_("PEM public key(s) for --offline (from 'arayis keys export')."),
    ),
    abonent: str = typer.Option(
        None,
        "--abonent",
        help=N_("The abonent code printed on the certificate (needed with a typed number)."),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Tell whether a certificate is authentic and unaltered (exit 0) or not (exit 6).

    A typed number needs --abonent CODE as well: a number alone is no proof."""
    from dataclasses import replace

    from arayis_cli.errors import InvalidInput, NotFound
    from arayis_cli.services import verification
    from arayis_cli.validation import parse_abonent_code

    evidence = verification.read_evidence(what)
    if abonent is not None:
        low, high = current_run().settings.abonent_code_lengths
        evidence = replace(evidence, abonent=parse_abonent_code(abonent, min_len=low, max_len=high))
    at = now()
    if offline:
        if public_key is None:
            raise InvalidInput(_("--offline needs --public-key FILE"))
        try:
            key_text = public_key.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise InvalidInput(
                _("cannot read public key file {public_key}").format(public_key=public_key)
            ) from None
        verdict = verification.verify_offline(evidence, key_text, now=at)
    else:
        run = current_run()
        with run.session(write=False) as session:
            verdict = verification.verify(session, evidence, now=at, keys=run.keys())
        if evidence.kind == "number" and verdict.reason == verification.NOT_IN_REGISTER:
            # A typed number that was never issued is an unknown certificate (exit 4).
            raise NotFound(
                _("certificate {evidence_number} is not in the register").format(
                    evidence_number=evidence.number
                )
            )
        _record(verification.check_of(verdict, evidence, at=at, channel="cli"))
    if as_json:
        emit_json(verdict.as_json())
    else:
        _print_verdict(verdict)
    if not verdict.valid:
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


def _record(check: Check | None) -> None:
    """Log the verification against the certificate; the verdict stands even if this fails."""
    if check is None:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from arayis_cli.services.verification import record_checks

    try:
        with current_run().session() as session:
            record_checks(session, [check])
    except SQLAlchemyError:
        # A read-only replica or login: the person still gets the answer they asked for.
        say(_("arayis: the verification was not recorded (the database cannot be written)"))


def _print_verdict(verdict: Verdict) -> None:
    from arayis_cli.cli.render import date_az
    from arayis_cli.services.verification import reason_text

    number = verdict.certificate_number or ""
    if verdict.valid:
        until = date_az(verdict.details.get("valid_until"))
        show(
            join(
                good(_("✓ Certificate {number} is authentic").format(number=number)),
                _(" (unaltered, valid until {until}).").format(until=until),
            )
        )
    else:
        reason = verdict.reason or ""
        newer = verdict.details.get("superseded_by")
        show(
            join(
                bad(
                    _("✗ Certificate {number} is not valid: ").format(number=number)
                    if number
                    else _("✗ Not valid: ")
                ),
                # The reason's words only: its code ("revoked") is in --json.
                reason_text(reason),
                _("; the current certificate is {newer}").format(newer=newer) if newer else "",
            )
        )


@command
def revoke(
    number: str = typer.Argument(..., help=N_("Certificate number, e.g. AR-2026-000123-4.")),
    reason: str = typer.Option(..., "--reason", help=N_("Why it is withdrawn (recorded).")),
    as_json: bool = JSON_OPT,
) -> None:
    """Withdraw a certificate; verification will say it is revoked."""
    from arayis_cli.present import certificate_json
    from arayis_cli.services.verification import revoke as revoke_certificate

    who = actor()
    with current_run().session() as session:
        cert = revoke_certificate(session, number, reason=reason, now=now(), actor=who)
        data = certificate_json(cert)
    if as_json:
        emit_json(data)
    else:
        say(
            _("Certificate {certificate_number} revoked.").format(
                certificate_number=data["certificate_number"]
            )
        )


@command
def keys_export(
    all_keys: bool = typer.Option(
        False, "--all", help=N_("Every key in the register, not only the current one.")
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Print the public key(s) verifiers need (PEM); never creates a key."""
    from arayis_cli.services.keys import export

    run = current_run()
    with run.session() as session:
        keys = export(session, all_keys=all_keys, now=now(), place=run.keys())
    if as_json:
        emit_json(keys)
        return
    emit_text(
        "".join(
            f"# arayis key {key['kid']}{' (current)' if key['current'] else ''}"
            + (" (retired)" if key["retired_at"] else "")
            + (" (compromised)" if key["compromised_since"] else "")
            + "\n"
            + key["public_key"]
            for key in keys
        )
    )


@command
def keys_init(as_json: bool = JSON_OPT) -> None:
    """Make the office signing key where ARAYIS_SIGNING_KEY points (admin; once)."""
    from arayis_cli.services import keys

    run = current_run()
    with run.session() as session:
        data, pending = keys.init(session, now=now(), place=run.keys())
        keys.commit_and_install(session, pending, run.keys())
    if as_json:
        emit_json(data)
    elif data["path"]:
        say(
            _(
                "Office signing key {kid} is ready at {path}. Back it up now (it is not in the "
                "database backup); every login that prints needs ARAYIS_SIGNING_KEY={path}."
            ).format(kid=data["kid"], path=data["path"])
        )
    else:
        say(_("Signing key {kid} is ready.").format(kid=data["kid"]))


@command
def keys_rotate(as_json: bool = JSON_OPT) -> None:
    """Start signing with a new key, for every login; certificates signed before keep
    verifying."""
    from arayis_cli.services import keys

    run = current_run()
    with run.session() as session:
        data, pending = keys.rotate(session, now=now(), place=run.keys())
        keys.commit_and_install(session, pending, run.keys())
    if as_json:
        emit_json(data)
    else:
        say(_("New signing key {signer_kid} is now current.").format(signer_kid=data["kid"]))
        if data.get("path"):
            say(
                _(
                    "It replaced the key file {path}: back the new file up, and copy it to every "
                    "other machine that prints."
                ).format(path=data["path"])
            )


@command
def keys_retire(
    kid: str = typer.Argument(..., help=N_("The key id (from 'arayis keys export --all').")),
    compromised: bool = typer.Option(
        False, "--compromised", help=N_("The key was stolen or lost: refuse what it signed later.")
    ),
    since: str = typer.Option(
        None,
        "--since",
        help=N_("With --compromised: from when (ISO 8601; without an offset, Baku time)."),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Stop a signing key; with --compromised, verify answers 'key compromised' for what it
    signed after --since."""
    from arayis_cli.services import keys
    from arayis_cli.validation import parse_datetime

    when = parse_datetime(since, "--since") if since is not None else None
    who = actor()
    with current_run().session() as session:
        data = keys.retire(session, kid, now=now(), actor=who, compromised=compromised, since=when)
    if as_json:
        emit_json(data)
    elif data["compromised_since"]:
        say(
            _(
                "Signing key {kid} retired as compromised: certificates it signed after {since} "
                "no longer verify."
            ).format(kid=data["kid"], since=data["compromised_since"])
        )
    else:
        say(_("Signing key {kid} retired.").format(kid=data["kid"]))
    if data["was_current"]:
        say(
            _(
                "It was the office's current key: nothing can be printed until `arayis keys "
                "rotate` (the key file at hand) or `arayis keys init` (a new key file) makes "
                "another."
            )
        )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("revoke")(revoke)
    keys_app.command("init")(keys_init)
    keys_app.command("export")(keys_export)
    keys_app.command("rotate")(keys_rotate)
    keys_app.command("retire")(keys_retire)
    app.add_typer(keys_app, name="keys")
