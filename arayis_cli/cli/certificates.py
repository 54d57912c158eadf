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
    emit_json,
    emit_text,
    good,
    join,
    now,
    say,
    show,
    state,
)
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, _

if TYPE_CHECKING:
    from arayis_cli.services.verification import Check, Verdict

keys_app = typer.Typer(help=N_("Signing keys: export public keys, rotate."), no_args_is_help=True)


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
    as_json: bool = JSON_OPT,
) -> None:
    """Tell whether a certificate is authentic and unaltered (exit 0) or not (exit 6)."""
    from arayis_cli.errors import InvalidInput, NotFound
    from arayis_cli.services import verification

    evidence = verification.read_evidence(what)
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
        from arayis_cli.db import session_scope

        with session_scope(state.db_url, write=False) as session:
            verdict = verification.verify(session, evidence, now=at)
        if evidence.kind == "number" and verdict.reason == verification.NOT_IN_REGISTER:
            # A typed number that was never issued is an unknown certificate (SPEC §4).
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

    from arayis_cli.db import session_scope
    from arayis_cli.services.verification import record_checks

    try:
        with session_scope(state.db_url) as session:
            record_checks(session, [check])
    except SQLAlchemyError:
        # A read-only replica or login: the person still gets the answer they asked for.
        say(_("arayis: the verification was not recorded (the database cannot be written)"))


def _print_verdict(verdict: Verdict) -> None:
    from arayis_cli.cli.render import date_az
    from arayis_cli.i18n import language
    from arayis_cli.services.verification import REASON_TEXT

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
        show(
            join(
                bad(
                    _("✗ Certificate {number} is not valid: ").format(number=number)
                    if number
                    else _("✗ Not valid: ")
                ),
                # The reason's words only: its code ("revoked") is in --json.
                REASON_TEXT.get(language(), REASON_TEXT["az"]).get(reason, reason),
            )
        )


@command
def revoke(
    number: str = typer.Argument(..., help=N_("Certificate number, e.g. AR-2026-000123-4.")),
    reason: str = typer.Option(..., "--reason", help=N_("Why it is withdrawn (recorded).")),
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
    """Print the public key(s) verifiers need (PEM)."""
    from arayis_cli.certificate.signing import current_signer
    from arayis_cli.db import session_scope
    from arayis_cli.services.printing import public_keys

    signer = current_signer()
    with session_scope(state.db_url) as session:
        keys = public_keys(session, signer, now=now(), all_keys=all_keys)
    if as_json:
        emit_json(keys)
        return
    emit_text(
        "".join(
            f"# arayis key {key['kid']}{' (current)' if key['current'] else ''}\n"
            + key["public_key"]
            for key in keys
        )
    )


@command
def keys_rotate(as_json: bool = JSON_OPT) -> None:
    """Start signing with a new key; certificates signed before keep verifying."""
    from arayis_cli.certificate.signing import generate
    from arayis_cli.config import settings
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services.printing import register_key

    if settings().signing_key:
        raise InvalidInput(
            _("the signing key is configured by ARAYIS_SIGNING_KEY; rotate it there")
        )
    signer = generate()
    with session_scope(state.db_url) as session:
        register_key(session, signer, now=now())
    if as_json:
        emit_json({"kid": signer.kid})
    else:
        say(_("New signing key {signer_kid} is now current.").format(signer_kid=signer.kid))


@command
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help=N_("Address to listen on.")),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help=N_("TCP port.")),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help=N_("Worker processes.")),
    rate_limit: int = typer.Option(
        60, "--rate-limit", min=1, help=N_("Requests per minute per client address (each worker).")
    ),
    burst: int = typer.Option(30, "--burst", min=1, help=N_("Requests a client may make at once.")),
    trusted_proxy: list[str] = typer.Option(
        [],
        "--trusted-proxy",
        help=N_("Reverse proxy address or network whose X-Forwarded-For is believed (repeatable)."),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the public verification service behind the QR code (read-only; logs each check)."""
    from arayis_cli.config import settings
    from arayis_cli.db import ensure_schema
    from arayis_cli.web.config import ServeConfig
    from arayis_cli.web.guard import parse_proxies

    parse_proxies(tuple(trusted_proxy))  # a typo is exit 2 now, not a silent open door
    ensure_schema(state.db_url)  # an unreachable register is a clear error before listening
    current = settings()
    config = ServeConfig(
        db_url=state.db_url,
        verify_base=current.verify_url_base,
        organisation=current.organisation,
        rate_per_minute=rate_limit,
        burst=burst,
        trusted_proxies=tuple(trusted_proxy),
    )
    from arayis_cli.web.server import run

    def announce() -> None:
        if not as_json:  # with --json, stderr carries only an error object, if any
            say(
                _(
                    "arayis: http://{host}:{port}/verify ({workers} worker(s)); Ctrl-C stops it"
                ).format(host=host, port=port, workers=workers)
            )

    run(config, host=host, port=port, workers=workers, announce=announce)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("serve")(serve)
    app.command("revoke")(revoke)
    keys_app.command("export")(keys_export)
    keys_app.command("rotate")(keys_rotate)
    app.add_typer(keys_app, name="keys")
