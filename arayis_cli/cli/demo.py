"""demo: the whole story on sample data, told for people (in the operator's language; the
emails, the certificates and what the portal shows the subscriber stay Azerbaijani), in a
sandbox of its own.

The demo always works in its own SQLite database and with its own signing key under
``<data dir>/demo/``: whatever ``--db``, ``ARAYIS_DATABASE_URL`` or
``ARAYIS_SIGNING_KEY`` say, the office's database, key and certificate register are never
touched. The sample data travels inside the package (``arayis_cli/sample_data``), so the
demo runs from any folder after a plain ``pip install``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from arayis_cli.cli.output import (
    JSON_OPT,
    actor,
    bad,
    command,
    current_run,
    emit_json,
    good,
    join,
    muted,
    now,
    rule,
    show,
    warning,
)
from arayis_cli.db import Engines
from arayis_cli.i18n import N_, _
from arayis_cli.workflow import Status

SAMPLE_NAMES = ("abonents.csv", "ledger.csv", "applications.csv", "documents")


@contextmanager
def sample_files(explicit: Path | None) -> Iterator[Path]:
    """The sample data folder: ``explicit`` if given, else the copy inside the package."""
    from arayis_cli.errors import InvalidInput

    if explicit is not None:
        if not all((explicit / name).exists() for name in SAMPLE_NAMES):
            raise InvalidInput(
                _("{explicit}: not a sample data folder (needs {SAMPLE_NAMES})").format(
                    explicit=explicit, SAMPLE_NAMES=", ".join(SAMPLE_NAMES)
                )
            )
        yield explicit
        return
    from importlib.resources import as_file, files

    with as_file(files("arayis_cli") / "sample_data") as folder:
        if not all((folder / name).exists() for name in SAMPLE_NAMES):
            raise InvalidInput(_("the sample data is missing from this installation"))
        yield folder


@command
def demo(
    sample_data: Path = typer.Option(
        None, "--sample-data", help=N_("Folder with sample data (default: the one shipped).")
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Walk through the whole workflow on sample data, in a sandbox database and key of its
    own (never the configured ones); writes the certificate PDFs here."""
    from arayis_cli.certificate.signing import sandbox_keys

    home = current_run().settings.data_dir() / "demo"
    with sample_files(sample_data) as samples:
        home.mkdir(parents=True, exist_ok=True)
        path = home / "demo.db"
        for suffix in ("", "-wal", "-shm"):  # a fresh story every time
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if not as_json:
            show(
                muted(
                    _(
                        "The demo runs on its own database and its own signing key: {home} "
                        "(the working database, key and register are not touched)."
                    ).format(home=home)
                )
            )
        story = Story(f"sqlite:///{path}", samples)
        with sandbox_keys(home / "keys"), contextlib.closing(story):
            if not as_json:
                story.run()
                return
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # the story is told for people
                story.run()
            emit_json({"database": str(path), **story.outcome()})


class Story:
    def __init__(self, url: str, samples: Path) -> None:
        from arayis_cli.services import Terms
        from arayis_cli.services.printing import Issuer

        self.url = url
        self.samples = samples
        self.engines = Engines()  # the sandbox database is the demo's own
        self.who = actor()
        self.lengths = current_run().settings.abonent_code_lengths
        self.terms = Terms.of(current_run().settings)
        # The sandbox's keys sign, whatever key place the settings name (sandbox_keys).
        self.issuer = Issuer.of(current_run().settings)

    def session(self, write: bool = True) -> Any:
        return self.engines.session(self.url, write=write)

    def close(self) -> None:
        """The sandbox database's engine, closed when the demo ends."""
        self.engines.dispose()

    def show(self, app_id: int, **extra: Any) -> None:
        from arayis_cli.cli.render import print_application
        from arayis_cli.present import application_json
        from arayis_cli.services.common import baku_date
        from arayis_cli.services.queries import detail

        with self.session(write=False) as s:
            d = detail(s, app_id)
            data = application_json(d.app, d.documents, today=baku_date(now()), show_pii=False)
            data["owner_name"] = d.abonent.owner_name if d.abonent else None
        data.update(extra)
        print_application(data)

    def run(self) -> None:
        from arayis_cli.cli.render import print_import_report
        from arayis_cli.services import abonents, applications

        rule(_("1. Abonents and their accounts are loaded"))
        with self.session() as s:
            print_import_report(
                abonents.import_abonents(
                    s, self.samples / "abonents.csv", now=now(), code_lengths=self.lengths
                ).as_json()
            )
        with self.session() as s:
            print_import_report(
                abonents.import_ledger(
                    s, self.samples / "ledger.csv", now=now(), code_lengths=self.lengths
                ).as_json()
            )

        rule(_("2. Applications from the portal (submit --from-file)"))
        with self.session() as s:
            report = applications.submit_file(
                s,
                self.samples / "applications.csv",
                now=now(),
                actor=self.who,
                commit=s.commit,
                code_lengths=self.lengths,
                terms=self.terms,
            )
        print_import_report(report.as_json())

        clean, owing, other = self.pick_abonents()
        self.refusal(other)
        self.no_debt(clean)
        self.with_debt(owing)

        rule(_("7. Emails and statistics"))
        self.summary()

    def outcome(self) -> dict[str, Any]:
        """What the demo left, for scripts (``demo --json``): the applications it decided,
        the certificates, the emails by kind and the counts by status."""
        from arayis_cli.present import certificate_json
        from arayis_cli.services.common import baku_date
        from arayis_cli.services.outbox import counts_by_kind
        from arayis_cli.services.queries import all_certificates
        from arayis_cli.services.stats import stats

        with self.session(write=False) as s:
            certs = [certificate_json(c) for c in all_certificates(s)]
            return {
                "certificates": certs,
                "emails_by_kind": dict(sorted(counts_by_kind(s).items())),
                "stats": stats(s, today=baku_date(now())),
            }

    def pick_abonents(self) -> tuple[Any, Any, Any]:
        """Group I abonents with no open application: one owing nothing, one owing, one more."""
        from arayis_cli.services.abonents import free_abonents

        with self.session(write=False) as s:
            clean = owing = other = None
            for ab, bal in free_abonents(s, as_of=now()):
                if clean is None and bal == 0:
                    clean = ab
                elif owing is None and bal > 0:
                    owing = ab
                elif other is None:
                    other = ab
                if clean is not None and owing is not None and other is not None:
                    break
        if clean is None or owing is None or other is None:
            from arayis_cli.errors import Conflict

            raise Conflict(_("the sample data has no free abonents left for the demo"))
        return clean, owing, other

    def submit(self, abonent: Any, kinds: tuple[str, ...]) -> int:
        from arayis_cli.services.applications import submit, validate_submission
        from arayis_cli.services.documents import attach, read_upload

        files = {
            "id-card": "sexsiyyet_vesiqesi.jpg",
            "ownership": "mulkiyyet_cixarisi.pdf",
        }
        sub = validate_submission(
            now=now(),
            code_lengths=self.lengths,
            abonent=abonent.code,
            fin=abonent.owner_fin,
            phone="+994 50 123 45 67",
            email="abonent@example.az",
            channel="egov",
        )
        with self.session() as s:
            app = submit(s, sub, now=now(), actor=self.who, terms=self.terms)[0]
            app_id = app.id or 0
            for kind in kinds:
                upload = read_upload(
                    self.samples / "documents" / files[kind],
                    limit=current_run().settings.max_document_bytes,
                )
                attach(s, app_id=app_id, uploads=[upload], kind=kind, now=now(), actor=self.who)
        from arayis_cli.services.support import PORTAL_NEW

        # The subscriber's own words on the portal stay Azerbaijani, as they see them.
        show(
            join(
                _(
                    "Application №{app_id} ({code}) registered; the portal tells the subscriber: "
                ).format(app_id=app_id, code=abonent.code),
                good(PORTAL_NEW),
            )
        )
        return app_id

    def review(self, app_id: int) -> None:
        from arayis_cli.services import decisions

        with self.session() as s:
            check = decisions.review(s, app_id, now=now(), actor=self.who)[1]
        self.show(app_id, checklist=check.as_json())

    def refusal(self, abonent: Any) -> None:
        from arayis_cli.services import decisions

        rule(_("3. Documents do not match: refused (Ləğv olunmuş)"))
        app_id = self.submit(abonent, ("id-card",))
        self.review(app_id)
        with self.session() as s:
            decisions.reject(
                s,
                app_id,
                reason="Mülkiyyət sənədinin surəti təqdim olunmayıb",
                now=now(),
                actor=self.who,
                terms=self.terms,
            )
        show(
            join(
                _("Application №{app_id}: ").format(app_id=app_id),
                bad(Status.REJECTED.label),
                _("; the reason is emailed to the subscriber."),
            )
        )

    def no_debt(self, abonent: Any) -> None:
        rule(_("4. No debt: completed, and the certificate is printed"))
        app_id = self.submit(abonent, ("id-card", "ownership"))
        self.review(app_id)
        self.approve(app_id)
        self.print(app_id)

    def with_debt(self, abonent: Any) -> None:
        from arayis_cli.money import money_human
        from arayis_cli.services.abonents import pay

        rule(_("5. A debt: completed, and a warning at print"))
        app_id = self.submit(abonent, ("id-card", "ownership"))
        self.review(app_id)
        debt = self.approve(app_id)
        self.print(app_id)
        rule(_("6. The debt is paid, and the certificate is printed again"))
        with self.session() as s:
            result = pay(
                s,
                code=abonent.code,
                amount=str(debt),
                reference=f"DEMO-{uuid.uuid4().hex[:10].upper()}",
                paid_at=None,
                now=now(),
                code_lengths=self.lengths,
            )
        show(
            _("Payment recorded: {code}, {amount} (balance now {balance}).").format(
                code=abonent.code, amount=money_human(debt), balance=money_human(result.balance)
            )
        )
        self.print(app_id)

    def approve(self, app_id: int) -> Any:
        from arayis_cli.money import money_human
        from arayis_cli.services import decisions

        with self.session() as s:
            debt = decisions.approve(
                s, app_id, override=None, now=now(), actor=self.who, terms=self.terms
            )[1]
        mail = (
            _("; debt {debt}; an email asking the subscriber to pay it first is queued.")
            if debt > 0
            else _(
                "; debt {debt}; an email telling the subscriber the certificate is ready is queued."
            )
        )
        show(
            join(
                _("Application №{app_id}: ").format(app_id=app_id),
                good(Status.COMPLETED.label),
                mail.format(debt=money_human(debt)),
            )
        )
        return debt

    def print(self, app_id: int) -> None:
        from arayis_cli.errors import DebtOutstanding
        from arayis_cli.services.printfiles import output_target
        from arayis_cli.services.printing import print_to_file

        try:
            where = output_target(None, default_folder=Path.cwd())
            issued, target = print_to_file(
                self.session, app_id, target=where, now=now(), actor=self.who, issuer=self.issuer
            )
        except DebtOutstanding as exc:
            show(join(warning(_("Print → warning:")), f" {exc.message}"))
            return
        show(
            join(
                good(_("Print → certificate {number}").format(number=issued.certificate.number)),
                " " + _("written: {target}").format(target=target),
            )
        )

    def summary(self) -> None:
        from rich.table import Table

        from arayis_cli.cli.render import EMAIL_KINDS, code_label, status_text
        from arayis_cli.services.common import baku_date
        from arayis_cli.services.outbox import counts_by_kind
        from arayis_cli.services.stats import stats

        with self.session(write=False) as s:
            kinds = counts_by_kind(s)
            figures = stats(s, today=baku_date(now()))
        table = Table(title=_("Emails in the queue"), title_justify="left")
        table.add_column(_("Kind"))
        table.add_column(_("Count"), justify="right")
        for kind, count in sorted(kinds.items()):
            table.add_row(code_label(EMAIL_KINDS, kind), str(count))
        parts: list[Any] = [_("Statuses: ")]
        for i, (code, count) in enumerate(figures["by_status"].items()):
            parts += [", " if i else "", status_text(code), f" {count}"]
        show(table, join(*parts))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
