"""review, reject, approve, print: the decisions staff take on an application.

With one application number each command shows the application (or one JSON document).
With several, each is its own transaction and the result is one line per application
(one JSON object per line with ``--json``); the exit code is that of the first failure.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    PII_OPT,
    actor,
    bad,
    command,
    current_run,
    emit_json,
    emit_json_line,
    good,
    join,
    now,
    refusal,
    report_error,
    say,
    show,
    warning,
)
from arayis_cli.cli.params import app_id_argument, count_option
from arayis_cli.errors import ArayisError, ExitCode
from arayis_cli.i18n import N_, _

if TYPE_CHECKING:
    from rich.text import Text


def _refused(exc: ArayisError, app_id: int, *, as_json: bool) -> None:
    """One id of a batch was refused: its JSON line (the single command's error object
    plus the id), or the error line for people; the batch goes on."""
    if as_json:
        emit_json_line(refusal(exc, id=app_id))
    else:
        report_error(exc, as_json=False, app_id=app_id)


def _each(
    ids: list[int],
    one: Callable[[int], dict[str, Any]],
    *,
    as_json: bool,
    line: Callable[[dict[str, Any]], str | Text],
) -> None:
    """Run ``one`` for every id, each in its own transaction; report a line per id
    (JSON Lines with ``--json``: a refusal is the single command's error object plus the id)."""
    first_failure: ExitCode | None = None
    for app_id in ids:
        try:
            data = one(app_id)
        except ArayisError as exc:
            first_failure = first_failure or exc.exit_code
            _refused(exc, app_id, as_json=as_json)
            continue
        if as_json:
            emit_json_line(data)
        else:
            show(line(data))
    if first_failure is not None:
        raise typer.Exit(int(first_failure))


@command
def review(
    app_ids: list[int] = app_id_argument(None, help=N_("Application number(s).")),
    next_: bool = typer.Option(False, "--next", help=N_("Claim the oldest Yeni application.")),
    count: int = count_option(1, "--count", help=N_("With --next: claim up to N, one by one.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Take an application into work (Yeni → İcrada olan) and show the checklist."""
    from arayis_cli.cli.render import application_payload, show_application
    from arayis_cli.errors import InvalidInput, NotFound
    from arayis_cli.services import decisions

    ids = list(app_ids or [])
    if bool(ids) == next_:
        raise InvalidInput(_("give application number(s) or --next (not both)"))
    if count < 1 or (count > 1 and not next_):
        raise InvalidInput(_("--count takes a positive number and goes with --next"))
    who = actor()

    def claim(
        app_id: int | None, tell: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        # One transaction per claim, answer included: a claiming worker pays no extra round.
        # ``tell`` writes the answer before the commit: a reader that went away (``| head
        # -1``) rolls the claim back, so nothing is claimed that was not printed.
        with current_run().session() as session:
            if app_id is None:
                app, check = decisions.review_next(session, now=now(), actor=who)
            else:
                app, check = decisions.review(session, app_id, now=now(), actor=who)
            data = application_payload(
                session, app, show_pii=show_pii, extra={"checklist": check.as_json()}
            )
            if tell is not None:
                tell(data)
            return data

    def line(d: dict[str, Any]) -> Text:
        mark = good("✓") if d["checklist"]["passed"] else bad("✗")
        head = _("№{id} ({code}): İcrada olan, checklist ").format(
            id=d["id"], code=d["abonent_code"]
        )
        return join(head, mark)

    if next_ and count > 1:
        claimed: list[dict[str, Any]] = []
        for _claimed in range(count):
            try:
                claimed.append(claim(None, emit_json_line if as_json else lambda d: show(line(d))))
            except NotFound:
                break
        if not claimed:
            raise NotFound(_("no new applications in the queue"))
        return
    if len(ids) > 1:
        _each(ids, claim, as_json=as_json, line=line)
        return
    data = claim(ids[0] if ids else None)
    if not as_json:
        say(_("Application №{id} taken into work (İcrada olan).").format(id=data["id"]))
    show_application(data, as_json=as_json)


@command
def reject(
    app_ids: list[int] = app_id_argument(help=N_("Application number(s).")),
    reason: str = typer.Option(..., "--reason", help=N_("Why the documents are refused.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Refuse the application (Ləğv olunmuş) and queue the email with the reason."""
    from arayis_cli.cli.render import application_data, show_application
    from arayis_cli.services import Terms, decisions
    from arayis_cli.validation import clean_text

    reason = clean_text(reason, N_("reason"))
    who = actor()
    terms = Terms.of(current_run().settings)

    def one(app_id: int) -> dict[str, Any]:
        with current_run().session() as session:
            decisions.reject(session, app_id, reason=reason, now=now(), actor=who, terms=terms)
        return application_data(app_id, show_pii=show_pii)

    if len(app_ids) > 1:
        _each(
            app_ids,
            one,
            as_json=as_json,
            line=lambda d: _("№{id}: Ləğv olunmuş").format(id=d["id"]),
        )
        return
    data = one(app_ids[0])
    if not as_json:
        say(
            _("Application №{id} rejected; an email to the subscriber is queued.").format(
                id=data["id"]
            )
        )
    show_application(data, as_json=as_json)


@command
def approve(
    app_ids: list[int] = app_id_argument(help=N_("Application number(s).")),
    override: str = typer.Option(
        None, "--override", help=N_("Approve although the checklist fails; says why (recorded).")
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Complete the application (İcra olunmuş), check the debt and queue the email."""
    from decimal import Decimal

    from arayis_cli.cli.render import application_data, show_application
    from arayis_cli.money import money_human, money_json
    from arayis_cli.services import Terms, decisions

    who = actor()
    terms = Terms.of(current_run().settings)

    def one(app_id: int) -> dict[str, Any]:
        with current_run().session() as session:
            debt = decisions.approve(
                session, app_id, override=override, now=now(), actor=who, terms=terms
            )[1]
        return application_data(app_id, show_pii=show_pii, extra={"debt": money_json(debt)})

    def line(d: dict[str, Any]) -> str:
        debt = Decimal(d["debt"])
        return _("№{id}: İcra olunmuş, debt {amount}").format(id=d["id"], amount=money_human(debt))

    if len(app_ids) > 1:
        _each(app_ids, one, as_json=as_json, line=line)
        return
    data = one(app_ids[0])
    if not as_json:
        debt = Decimal(data["debt"])
        if debt > 0:
            say(
                join(
                    _("Application №{id} completed. ").format(id=data["id"]),
                    warning(_("Debt: {amount}").format(amount=money_human(debt))),
                    _(" — an email asking the subscriber to pay the debt first is queued."),
                )
            )
        else:
            say(
                _("Application №{id} completed. No debt — the certificate can be printed.").format(
                    id=data["id"]
                )
            )
    show_application(data, as_json=as_json)


@command
def print_(
    app_id: int = app_id_argument(None),
    out: Path = typer.Option(
        None,
        "--out",
        help=N_(
            "Where to write the PDF (default: ./<certificate number>.pdf; a copy: "
            "./<certificate number>-copy.pdf)."
        ),
    ),
    all_ready: bool = typer.Option(
        False, "--all-ready", help=N_("Every completed application without a current certificate.")
    ),
    out_dir: Path = typer.Option(None, "--out-dir", help=N_("With --all-ready: the folder.")),
    copy: bool = typer.Option(
        False,
        "--copy",
        help=N_("The current certificate again: same number, same bytes (no new certificate)."),
    ),
    renew: bool = typer.Option(
        False,
        "--renew",
        help=N_(
            "A new certificate replacing the current (or revoked) one, after a fresh debt "
            "check; needs --reason (approver or admin)."
        ),
    ),
    reason: str = typer.Option(None, "--reason", help=N_("With --renew: why (recorded).")),
    force: bool = typer.Option(
        False,
        "--force",
        help=N_("Replace a file already at the path (without it, an existing file is refused)."),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Çap et: re-check the debt now; no debt writes the certificate PDF, debt refuses (exit 3).

    An application has one current certificate: printing it again refuses (exit 5);
    --copy gives the same paper again, --renew --reason a new one."""
    from arayis_cli.errors import InvalidInput
    from arayis_cli.formats import fmt_date

    if copy and renew:
        raise InvalidInput(_("--copy and --renew exclude each other"))
    if reason is not None and not renew:
        raise InvalidInput(_("--reason goes with --renew"))
    if renew and reason is None:
        raise InvalidInput(_("--renew needs --reason TEXT"))
    if all_ready:
        if app_id is not None or out is not None:
            raise InvalidInput(_("--all-ready takes --out-dir, not an application number or --out"))
        if copy or renew:
            raise InvalidInput(_("--copy and --renew take one application number"))
        _print_all_ready(out_dir or Path.cwd(), as_json=as_json)
        return
    if app_id is None:
        raise InvalidInput(_("give an application number, or --all-ready"))
    if out_dir is not None:
        raise InvalidInput(_("--out-dir goes with --all-ready; use --out for one certificate"))
    from arayis_cli.services.printfiles import output_target
    from arayis_cli.services.printing import Issuer, copy_to_file, print_to_file

    # A copy's default name is its own (<number>-copy.pdf): never the original's file.
    where = output_target(
        out, default_folder=Path.cwd(), suffix="-copy" if copy else "", replace=force
    )
    if copy:
        issued, target = copy_to_file(current_run().session, app_id, target=where)
        why = _unusable_now(issued.certificate)
        data = {**_printed(issued, target), "copy": True, **_as_verify_says(why)}
        if as_json:
            emit_json(data)
        else:
            show(
                join(
                    good(
                        _("Copy of certificate {certificate_number}").format(
                            certificate_number=data["certificate_number"]
                        )
                    ),
                    _(": {target} (the same paper as registered)").format(target=target),
                )
            )
            if why is not None:
                say(warning(_unusable_warning(why, issued.certificate)))
        return
    _settle(where.folder, as_json=as_json)
    issued, target = print_to_file(
        current_run().session,
        app_id,
        target=where,
        now=now(),
        actor=actor(),
        issuer=Issuer.of(current_run().settings),
        settle=False,
        renew_reason=reason,
    )
    data = _printed(issued, target)
    if as_json:
        emit_json(data)
    else:
        show(
            join(
                good(
                    _("Certificate {certificate_number} is ready").format(
                        certificate_number=data["certificate_number"]
                    )
                ),
                _(": {target} (no debt, valid until {until})").format(
                    target=target, until=fmt_date(issued.certificate.valid_until)
                ),
            )
        )


def _unusable_now(cert: Any) -> str | None:
    """Why verification would refuse this current certificate now (``expired``,
    ``key_compromised``), or None: a copy is the registered paper all the same."""
    from arayis_cli.services.printing import unusable

    with current_run().session(write=False) as session:
        return unusable(session, cert, now=now())


def _as_verify_says(why: str | None) -> dict[str, Any]:
    """``valid`` and ``reason`` in ``verify``'s words (``expired``, ``key compromised``)."""
    from arayis_cli.services.verification import EXPIRED, KEY_COMPROMISED

    reason = {"expired": EXPIRED, "key_compromised": KEY_COMPROMISED}.get(why or "")
    return {"valid": why is None, "reason": reason}


def _unusable_warning(why: str, cert: Any) -> str:
    from arayis_cli.formats import fmt_date

    if why == "expired":
        text = _(
            "It expired on {until}: verification refuses it. A new certificate: print "
            "{app_id} --renew --reason TEXT"
        )
    else:
        text = _(
            "It was signed by a key reported stolen: verification refuses it. A new "
            "certificate: print {app_id} --renew --reason TEXT"
        )
    return text.format(until=fmt_date(cert.valid_until), app_id=cert.application_id)


def _printed(issued: Any, target: Path) -> dict[str, Any]:
    from arayis_cli.formats import iso_baku

    cert = issued.certificate
    return {
        "certificate_number": cert.number,
        "application_id": cert.application_id,
        "path": str(target),
        "issued_at": iso_baku(cert.issued_at),
        "valid_until": cert.valid_until.isoformat(),
        "debt": "0.00",
        "pdf_sha256": cert.pdf_sha256,
    }


def _settle(folder: Path, *, as_json: bool) -> None:
    """Finish what a killed print left in ``folder`` (see services.printfiles)."""
    from arayis_cli.services.printing import settle_folder

    for settled in settle_folder(current_run().session, folder):
        if as_json:
            continue  # stdout carries the certificates only; the restored file is in place
        if settled.restored_to is not None:
            say(
                _(
                    "Certificate {settled_number} restored from an interrupted print: "
                    "{settled_restored_to}"
                ).format(settled_number=settled.number, settled_restored_to=settled.restored_to)
            )
        else:
            say(
                _("Removed the staging file of an interrupted print: {settled_staging}").format(
                    settled_staging=settled.staging
                )
            )


def _print_all_ready(folder: Path, *, as_json: bool) -> None:
    """Print every ready certificate; a refusal (debt) is recorded in history as by print.

    JSON Lines: one object per application; a refusal carries ``error`` and ``message``;
    the exit code is that of the first refusal (docs/json.md: batch modes)."""
    from decimal import Decimal

    from arayis_cli.errors import AlreadyIssued, DebtOutstanding
    from arayis_cli.money import money_human
    from arayis_cli.services.printfiles import output_folder
    from arayis_cli.services.printing import (
        GROUP,
        Issuer,
        print_group,
        ready_for_print,
        render_pool,
    )

    target = output_folder(folder)  # unwritable: exit 2 before anything is issued
    who = actor()
    issuer = Issuer.of(current_run().settings)
    _settle(folder, as_json=as_json)  # what a killed run left behind, once per batch
    with current_run().session(write=False) as session:
        candidates = ready_for_print(session, now=now())
    codes = {app_id: code for app_id, code, _debt in candidates}
    ids = list(codes)
    printed = owing = skipped = 0
    first_failure: ExitCode | None = None
    # This process checks, numbers, registers and writes; worker processes render.
    with render_pool(len(ids), issuer) as render:
        for start in range(0, len(ids), GROUP):
            group = print_group(
                current_run().session,
                ids[start : start + GROUP],
                target=target,
                now=now(),
                actor=who,
                issuer=issuer,
                render=render,
            )
            for outcome in group:
                app_id, code = outcome.app_id, codes[outcome.app_id]
                row: dict[str, Any]
                exc = outcome.error
                if isinstance(exc, AlreadyIssued):  # another run printed it first: skip
                    skipped += 1
                    if as_json:
                        emit_json_line(
                            {
                                "application_id": app_id,
                                "printed": False,
                                "skipped": True,
                                "certificate_number": exc.certificate_number,
                            }
                        )
                    continue
                if isinstance(exc, DebtOutstanding):  # recorded in the history by the service
                    first_failure = first_failure or exc.exit_code
                    row = refusal(exc, application_id=app_id, abonent_code=code, printed=False)
                elif exc is not None:  # e.g. no longer group I: go on
                    first_failure = first_failure or exc.exit_code
                    _refused(exc, app_id, as_json=as_json)
                    continue
                else:
                    row = {**_printed(outcome.issued, outcome.path), "printed": True}
                if row["printed"]:
                    printed += 1
                else:
                    owing += 1
                if as_json:
                    emit_json_line(row)
                elif row["printed"]:
                    show(
                        _("№{id}: certificate {number} → {path}").format(
                            id=app_id, number=row["certificate_number"], path=row["path"]
                        )
                    )
                else:
                    amount = money_human(Decimal(row["debt"]))
                    show(
                        join(
                            f"№{app_id}: ",
                            warning(_("debt {amount}").format(amount=amount)),
                            _(" ({code}), not printed").format(code=code),
                        )
                    )
    if not as_json:
        say(
            _("Certificates printed: {printed}; applications with a debt: {owing}.").format(
                printed=printed, owing=owing
            )
        )
        if skipped:
            say(
                _("Skipped {skipped} application(s) another print run issued first.").format(
                    skipped=skipped
                )
            )
    if first_failure is not None:
        raise typer.Exit(int(first_failure))


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("reject")(reject)
    app.command("approve")(approve)
    app.command("print")(print_)
