"""submit, attach, list, show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    PII_OPT,
    actor,
    command,
    console,
    current_run,
    emit_json,
    good,
    join,
    now,
    say,
)
from arayis_cli.cli.params import app_id_argument, count_option
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, _, gettext, ngettext


@command
def submit(
    abonent: str = typer.Option(None, "--abonent", help=N_("Abonent code (digits).")),
    fin: str = typer.Option(None, "--fin", help=N_("FIN of the property owner (7 characters).")),
    phone: str = typer.Option(None, "--phone", help=N_("Contact phone (Azerbaijani number).")),
    email: str = typer.Option(None, "--email", help=N_("Contact email address.")),
    channel: str = typer.Option("egov", "--channel", help=N_("egov, azersu or office.")),
    external_id: str = typer.Option(None, "--external-id", help=N_("Portal request id (unique).")),
    submitted_at: str = typer.Option(
        None, "--submitted-at", help=N_("Registration time, ISO 8601 (default: now).")
    ),
    from_file: Path = typer.Option(
        None, "--from-file", help=N_("Import many applications from CSV or JSON Lines.")
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Register an application (status Yeni) and queue the confirmation email."""
    from arayis_cli.errors import InvalidInput

    if from_file is not None:
        if any(v is not None for v in (abonent, fin, phone, email, external_id, submitted_at)):
            raise InvalidInput(_("--from-file cannot be combined with single-application options"))
        _submit_file(from_file, as_json=as_json)
        return
    missing = [
        name
        for name, value in (
            ("--abonent", abonent),
            ("--fin", fin),
            ("--phone", phone),
            ("--email", email),
        )
        if value is None
    ]
    if missing:
        raise InvalidInput(
            _("missing {missing} (or use --from-file)").format(missing=", ".join(missing))
        )
    from arayis_cli.services import Terms
    from arayis_cli.services.applications import submit as submit_one
    from arayis_cli.services.applications import validate_submission

    at = now()
    sub = validate_submission(
        now=at,
        code_lengths=current_run().settings.abonent_code_lengths,
        abonent=abonent,
        fin=fin,
        phone=phone,
        email=email,
        channel=channel,
        external_id=external_id,
        submitted_at=submitted_at,
    )
    who = actor()
    terms = Terms.of(current_run().settings)
    with current_run().session() as session:
        app, created = submit_one(session, sub, now=at, actor=who, terms=terms)
    if not as_json:
        if created:
            from arayis_cli.cli.render import date_az

            say(
                join(
                    good(_("Application №{id} registered.").format(id=app.id)),
                    " ",
                    _("Due by {due}; the confirmation email to the subscriber is queued.").format(
                        due=date_az(app.due_on.isoformat())
                    ),
                )
            )
        else:
            say(
                _("Application {app_id} already exists for external id {app_external_id}.").format(
                    app_id=app.id, app_external_id=app.external_id
                )
            )
    from arayis_cli.cli.render import application_data, show_application

    data = application_data(app.id or 0, show_pii=show_pii, extra={"created": created})
    show_application(data, as_json=as_json)


def _report_cut_short(exc: Exception, report: Any, *, as_json: bool) -> None:
    """The database failed mid-batch (exit 8): still say which rows were committed."""
    from arayis_cli.unavailable import classify

    if classify(exc, db_url=current_run().db_url) is None:
        return
    if as_json:
        emit_json({**report.as_json(), "interrupted": True})
    else:
        from arayis_cli.cli.render import print_import_report

        print_import_report(report.as_json(), subject=_("Applications"))


def _submit_file(path: Path, *, as_json: bool) -> None:
    import sys

    from arayis_cli.services import Terms
    from arayis_cli.services.applications import BatchReport, submit_file
    from arayis_cli.services.csvfiles import count_rows

    progress_cb = None
    progress = None
    if not as_json and sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(console=console(stderr=True))
        task = progress.add_task(_("Applications"), total=count_rows(path))
        progress.start()

        def progress_cb(n: int) -> None:
            progress.advance(task, n)

    who = actor()
    terms = Terms.of(current_run().settings)
    report = BatchReport()
    try:
        with current_run().session() as session:
            submit_file(
                session,
                path,
                now=now(),
                actor=who,
                commit=session.commit,  # chunk by chunk: a crash loses only the one in flight
                code_lengths=current_run().settings.abonent_code_lengths,
                terms=terms,
                progress=progress_cb,
                report=report,
            )
    except Exception as exc:
        _report_cut_short(exc, report, as_json=as_json)
        raise
    finally:
        if progress is not None:
            progress.stop()
    if as_json:
        emit_json(report.as_json())
    else:
        from arayis_cli.cli.render import print_import_report

        print_import_report(report.as_json(), subject=_("Applications"))
    if report.failed:
        raise typer.Exit(int(ExitCode.INVALID_INPUT))


@command
def attach(
    app_id: int = app_id_argument(),
    files: list[str] = typer.Argument(
        ...,
        help=N_("PDF, JPEG or PNG copies; KIND=PATH gives one file its own kind."),
        metavar="[KIND=]PATH...",
    ),
    kind: str = typer.Option(
        None,
        "--kind",
        help=N_(
            "id-card, ownership, power-of-attorney or other: the kind of every file "
            "not written as KIND=PATH."
        ),
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Store document copies for an open application (all files or none)."""
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services.documents import attach as attach_docs
    from arayis_cli.services.documents import attached_kinds, read_upload
    from arayis_cli.validation import DOCUMENT_KIND_LABELS, DOCUMENT_KINDS, parse_document_kind

    default = parse_document_kind(kind) if kind is not None else None
    wanted: list[tuple[str, Path]] = []
    for arg in files:
        prefix, sep, rest = arg.partition("=")
        if sep and prefix.strip().lower() in DOCUMENT_KINDS:
            wanted.append((parse_document_kind(prefix), Path(rest)))
        elif default is not None:
            wanted.append((default, Path(arg)))
        else:
            raise InvalidInput(
                _("{path}: give its kind as KIND=PATH or with --kind").format(path=arg)
            )
    limit = current_run().settings.max_document_bytes
    uploads = [(k, read_upload(path, limit=limit)) for k, path in wanted]
    who = actor()
    added = 0
    with current_run().session() as session:
        before = attached_kinds(session, app_id)
        for k in dict.fromkeys(k for k, _upload in uploads):
            added += attach_docs(
                session,
                app_id=app_id,
                uploads=[u for kk, u in uploads if kk == k],
                kind=k,
                now=now(),
                actor=who,
            )[1]
    if not as_json:
        same = len(uploads) - added
        stored = ngettext("Stored {n} document.", "Stored {n} documents.", added).format(n=added)
        if same:
            stored += " " + ngettext(
                "{n} was already attached.", "{n} were already attached.", same
            ).format(n=same)
        say(stored)
        for k, upload in uploads:
            doc_id, filed_as = before.get(upload.sha256, (0, k))
            if filed_as != k:  # the same bytes are there under another kind
                say(
                    _(
                        "{name} is attached already as document №{doc_id} ({kind}); to file it "
                        "as {wanted}: arayis relabel {doc_id} {wanted_code} --reason …"
                    ).format(
                        name=upload.filename,
                        doc_id=doc_id,
                        kind=gettext(DOCUMENT_KIND_LABELS.get(filed_as, filed_as)),
                        wanted=gettext(DOCUMENT_KIND_LABELS.get(k, k)),
                        wanted_code=k,
                    )
                )
    from arayis_cli.cli.render import application_data, show_application

    show_application(application_data(app_id, show_pii=show_pii), as_json=as_json)


#: Rows a person sees by default (a table); --all, --limit, JSON and CSV are unlimited.
PEOPLE_LIMIT = 50


@command
def list_(
    status: list[str] = typer.Option(
        None,
        "--status",
        help=N_("new, in_progress, completed, rejected, or the Azerbaijani label."),
    ),
    abonent: str = typer.Option(None, "--abonent", help=N_("Only this abonent code.")),
    fin: str = typer.Option(None, "--fin", help=N_("Only applications with this FIN.")),
    owner: str = typer.Option(
        None, "--owner", help=N_("Only abonents whose owner's name contains this text.")
    ),
    external_id: str = typer.Option(
        None, "--external-id", help=N_("Only the application with this portal request id.")
    ),
    search: str = typer.Option(
        None,
        "--search",
        help=N_("An abonent code, FIN, portal request id or part of the owner's name."),
    ),
    overdue: bool = typer.Option(False, "--overdue", help=N_("Only open applications past due.")),
    since: str = typer.Option(
        None, "--since", help=N_("Submitted on or after this date (or today, yesterday).")
    ),
    until: str = typer.Option(
        None, "--until", help=N_("Submitted on or before this date (or today, yesterday).")
    ),
    limit: int = count_option(None, "--limit", help=N_("At most N applications.")),
    offset: int = count_option(0, "--offset", help=N_("Skip the first N.")),
    all_: bool = typer.Option(
        False, "--all", help=N_("Every matching application in the table (default: 50).")
    ),
    fmt: str = typer.Option("table", "--format", help=N_("table, json or csv.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """List applications, oldest first."""
    from arayis_cli.errors import InvalidInput
    from arayis_cli.validation import clean_text, parse_abonent_code, parse_external_id, parse_fin
    from arayis_cli.workflow import parse_status

    fmt = "json" if as_json else fmt.strip().lower()
    if fmt not in ("table", "json", "csv"):
        raise InvalidInput(_("--format must be table, json or csv"))
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidInput(_("--limit and --offset must not be negative"))
    if all_ and limit is not None:
        raise InvalidInput(_("--all and --limit cannot be combined"))
    from arayis_cli.services.queries import ListFilter

    low, high = current_run().settings.abonent_code_lengths

    people_limit = fmt == "table" and limit is None and not all_
    flt = ListFilter(
        statuses=tuple(dict.fromkeys(parse_status(s) for s in status or [])),
        abonent_code=parse_abonent_code(abonent, min_len=low, max_len=high) if abonent else None,
        fin=parse_fin(fin) if fin else None,
        owner=clean_text(owner, N_("owner name"), limit=200) if owner else None,
        external_id=parse_external_id(external_id) if external_id else None,
        search=clean_text(search, "--search", limit=200) if search else None,
        overdue=overdue,
        since=_day(since, "--since") if since else None,
        until=_day(until, "--until") if until else None,
        limit=PEOPLE_LIMIT if people_limit else limit,
        offset=offset,
    )
    from arayis_cli.cli.listing import write_list

    write_list(flt, fmt=fmt, show_pii=show_pii, people_limit=people_limit)


#: Words for a day that ``--since``/``--until`` take besides a date, in both languages.
_DAY_WORDS = {"today": 0, "bugün": 0, "bu gün": 0, "yesterday": 1, "dünən": 1}


def _day(text: str, option: str) -> Any:
    from datetime import timedelta

    from arayis_cli.services.common import baku_date
    from arayis_cli.validation import parse_date

    back = _DAY_WORDS.get(text.strip().lower())
    if back is not None:
        return baku_date(now()) - timedelta(days=back)
    return parse_date(text, option)


@command
def show(
    app_id: int = app_id_argument(),
    as_subscriber: bool = typer.Option(
        False, "--as-subscriber", help=N_("What the subscriber sees on the portal, and the emails.")
    ),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """One application in full: documents, history, emails, certificates, why printing is
    blocked."""
    from arayis_cli.present import (
        api_call_json,
        application_json,
        certificate_json,
        event_json,
        outbox_json,
        print_check_json,
        verification_json,
    )
    from arayis_cli.services.apikeys import calls_of
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.queries import detail
    from arayis_cli.services.support import print_check

    if as_subscriber:
        _show_as_subscriber(app_id, as_json=as_json)
        return
    with current_run().session(write=False) as session:
        d = detail(session, app_id)
        data = application_json(d.app, d.documents, today=baku_date(now()), show_pii=show_pii)
        data["owner_name"] = d.abonent.owner_name if d.abonent else None
        data["history"] = [event_json(e) for e in d.events]
        data["emails"] = [outbox_json(m, show_pii=show_pii) for m in d.emails]
        data["certificates"] = [certificate_json(c) for c in d.certificates]
        data["verifications"] = [verification_json(n, v) for n, v in d.verifications]
        data["api_calls"] = [api_call_json(c) for c in calls_of(session, app_id)]
        data.update(print_check_json(print_check(session, d.app, now=now())))
    if as_json:
        emit_json(data)
    else:
        from arayis_cli.cli.render import print_detail, print_print_check

        print_detail(data)
        print_print_check(data)


def _show_as_subscriber(app_id: int, *, as_json: bool) -> None:
    from arayis_cli.present import subscriber_json
    from arayis_cli.services.support import subscriber_view

    with current_run().session(write=False) as session:
        data = subscriber_json(subscriber_view(session, app_id))
    if as_json:
        emit_json(data)
    else:
        from arayis_cli.cli.render import print_subscriber_view

        print_subscriber_view(data)


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("attach")(attach)
    app.command("list")(list_)
    app.command("show")(show)
