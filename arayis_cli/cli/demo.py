"""demo: the whole story on sample data, told for people.

Without ``--db`` it uses a fresh ``demo.db`` in the data directory (never the working
database); with ``--db`` it runs on that database and can be repeated.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import typer

from arayis_cli.cli.output import actor, command, console, now, state

SAMPLE_NAMES = ("abonents.csv", "ledger.csv", "applications.csv", "documents")


def find_sample_data(explicit: Path | None) -> Path:
    from arayis_cli.errors import InvalidInput

    candidates = [explicit] if explicit else []
    candidates += [Path(__file__).resolve().parents[2] / "sample_data", Path.cwd() / "sample_data"]
    for candidate in candidates:
        if candidate and all((candidate / name).exists() for name in SAMPLE_NAMES):
            return candidate
    raise InvalidInput("sample_data/ not found; pass --sample-data DIR")


def _step(title: str) -> None:
    console().rule(f"[bold]{title}[/]", align="left")


@command
def demo(
    sample_data: Path = typer.Option(None, "--sample-data", help="Folder with the sample data."),
) -> None:
    """Walk through the whole workflow on sample data; writes a certificate PDF here."""
    from arayis_cli.config import data_dir

    samples = find_sample_data(sample_data)
    url = state.db_url
    if not state.db_explicit:
        path = data_dir() / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    Story(url, samples).run()


class Story:
    def __init__(self, url: str, samples: Path) -> None:
        self.url = url
        self.samples = samples
        self.who = actor()
        self.out = console()

    def session(self, write: bool = True) -> Any:
        from arayis_cli.db import session_scope

        return session_scope(self.url, write=write)

    def show(self, app_id: int, **extra: Any) -> None:
        from arayis_cli.cli.render import print_application
        from arayis_cli.present import application_json
        from arayis_cli.services.applications import detail
        from arayis_cli.services.common import baku_date

        with self.session(write=False) as s:
            d = detail(s, app_id)
            data = application_json(d.app, d.documents, today=baku_date(now()), show_pii=False)
            data["owner_name"] = d.abonent.owner_name if d.abonent else None
        data.update(extra)
        print_application(data)

    def run(self) -> None:
        from arayis_cli.cli.render import print_import_report
        from arayis_cli.services import abonents, applications

        self.out.print(f"[dim]Verilənlər bazası: {self.url}[/]")
        _step("1. Abonentlər və hesablar yüklənir")
        with self.session() as s:
            print_import_report(
                abonents.import_abonents(s, self.samples / "abonents.csv", now=now()).as_json()
            )
        with self.session() as s:
            print_import_report(
                abonents.import_ledger(s, self.samples / "ledger.csv", now=now()).as_json()
            )

        _step("2. Portaldan gələn müraciətlər (submit --from-file)")
        with self.session() as s:
            report = applications.submit_file(
                s, self.samples / "applications.csv", now=now(), actor=self.who
            )
        print_import_report(report.as_json())

        clean, owing, other = self.pick_abonents()
        self.refusal(other)
        self.no_debt(clean)
        self.with_debt(owing)

        _step("7. Məktublar və statistika")
        self.summary()

    def pick_abonents(self) -> tuple[Any, Any, Any]:
        """Group I abonents with no open application: one owing nothing, one owing, one more."""
        from sqlalchemy import select

        from arayis_cli.models import Abonent, Application
        from arayis_cli.services.common import balance
        from arayis_cli.workflow import OPEN_STATUSES

        with self.session(write=False) as s:
            busy = set(
                s.execute(
                    select(Application.abonent_code).where(
                        Application.status.in_([st.value for st in OPEN_STATUSES])
                    )
                ).scalars()
            )
            clean = owing = other = None
            for ab in s.execute(
                select(Abonent).where(Abonent.group == "I").order_by(Abonent.code)
            ).scalars():
                if ab.code in busy:
                    continue
                bal = balance(s, ab.code, as_of=now())
                if clean is None and bal == 0:
                    clean = ab
                elif owing is None and bal > 0:
                    owing = ab
                elif other is None:
                    other = ab
        if clean is None or owing is None or other is None:
            from arayis_cli.errors import Conflict

            raise Conflict("the sample data has no free abonents left for the demo")
        return clean, owing, other

    def submit(self, abonent: Any, kinds: tuple[str, ...]) -> int:
        from arayis_cli.config import settings
        from arayis_cli.services.applications import submit, validate_submission
        from arayis_cli.services.documents import attach, read_upload

        files = {
            "id-card": "sexsiyyet_vesiqesi.jpg",
            "ownership": "mulkiyyet_cixarisi.pdf",
        }
        sub = validate_submission(
            abonent=abonent.code,
            fin=abonent.owner_fin,
            phone="+994 50 123 45 67",
            email="abonent@example.az",
            channel="egov",
        )
        with self.session() as s:
            app, _ = submit(s, sub, now=now(), actor=self.who)
            app_id = app.id or 0
            for kind in kinds:
                upload = read_upload(
                    self.samples / "documents" / files[kind], limit=settings().max_document_bytes
                )
                attach(s, app_id=app_id, uploads=[upload], kind=kind, now=now(), actor=self.who)
        self.out.print(
            f"Müraciət №{app_id} ({abonent.code}): [green]Əməliyyat uğurla yerinə yetirildi.[/] "
            "Müraciətinizin nəticəsi 3 iş günü ərzində email ünvanınıza göndəriləcək."
        )
        return app_id

    def review(self, app_id: int) -> None:
        from arayis_cli.services import decisions

        with self.session() as s:
            _, check = decisions.review(s, app_id, now=now(), actor=self.who)
        self.show(app_id, checklist=check.as_json())

    def refusal(self, abonent: Any) -> None:
        from arayis_cli.services import decisions

        _step("3. Sənədlərdə uyğunsuzluq: imtina (Ləğv olunmuş)")
        app_id = self.submit(abonent, ("id-card",))
        self.review(app_id)
        with self.session() as s:
            decisions.reject(
                s,
                app_id,
                reason="Mülkiyyət sənədinin surəti təqdim olunmayıb",
                now=now(),
                actor=self.who,
            )
        self.out.print(f"Müraciət №{app_id}: [red]Ləğv olunmuş[/]; səbəb abonentə göndərilir.")

    def no_debt(self, abonent: Any) -> None:
        _step("4. Borc yoxdur: icra olunur və arayış çap edilir")
        app_id = self.submit(abonent, ("id-card", "ownership"))
        self.review(app_id)
        self.approve(app_id)
        self.print(app_id)

    def with_debt(self, abonent: Any) -> None:
        from arayis_cli.money import money_human
        from arayis_cli.services.abonents import pay

        _step("5. Borc var: icra olunur, çap zamanı xəbərdarlıq")
        app_id = self.submit(abonent, ("id-card", "ownership"))
        self.review(app_id)
        debt = self.approve(app_id)
        self.print(app_id)
        _step("6. Borc ödənilir və arayış yenidən çap edilir")
        with self.session() as s:
            result = pay(
                s,
                code=abonent.code,
                amount=str(debt),
                reference=f"DEMO-{uuid.uuid4().hex[:10].upper()}",
                paid_at=None,
                now=now(),
            )
        self.out.print(
            f"Ödəniş qeydə alındı: {abonent.code}, {money_human(debt)} "
            f"(qalıq balans {money_human(result.balance)})."
        )
        self.print(app_id)

    def approve(self, app_id: int) -> Any:
        from arayis_cli.money import money_human
        from arayis_cli.services import decisions

        with self.session() as s:
            _, debt = decisions.approve(s, app_id, override=None, now=now(), actor=self.who)
        mail = "borcu ödəmək barədə" if debt > 0 else "arayışın hazır olması barədə"
        self.out.print(
            f"Müraciət №{app_id}: [green]İcra olunmuş[/]; borc {money_human(debt)}; "
            f"abonentə {mail} məktub növbəyə qoyuldu."
        )
        return debt

    def print(self, app_id: int) -> None:
        from arayis_cli.errors import DebtOutstanding
        from arayis_cli.services.printfiles import output_target
        from arayis_cli.services.printing import print_to_file

        try:
            where = output_target(None, default_folder=Path.cwd())
            issued, target = print_to_file(
                self.url, app_id, target=where, now=now(), actor=self.who
            )
        except DebtOutstanding as exc:
            self.out.print(f"[bold yellow]Çap et → xəbərdarlıq:[/] {exc.message}")
            return
        self.out.print(
            f"[bold green]Çap et → arayış {issued.certificate.number}[/] yazıldı: {target}"
        )

    def summary(self) -> None:
        from rich.table import Table
        from sqlalchemy import func, select

        from arayis_cli.cli.render import status_text
        from arayis_cli.models import OutboxMessage
        from arayis_cli.services.common import baku_date
        from arayis_cli.services.stats import stats

        with self.session(write=False) as s:
            kinds = dict(
                s.execute(
                    select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)
                ).all()
            )
            figures = stats(s, today=baku_date(now()))
        table = Table(title="Növbədəki məktublar", title_justify="left")
        table.add_column("Növ")
        table.add_column("Say", justify="right")
        for kind, count in sorted(kinds.items()):
            table.add_row(kind, str(count))
        self.out.print(table)
        self.out.print(
            "Statuslar: "
            + ", ".join(
                f"{status_text(code)} {count}" for code, count in figures["by_status"].items()
            )
        )
