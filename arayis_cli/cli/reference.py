"""abonent add/import/show, ledger import, pay: subscribers and billing data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from arayis_cli.cli.output import JSON_OPT, PII_OPT, command, current_run, emit_json, now, show
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, _

abonent_app = typer.Typer(
    help=N_("Subscribers (abonentlər): add, import, show."), no_args_is_help=True
)
ledger_app = typer.Typer(
    help=N_("Billing data: charges, payments, adjustments."), no_args_is_help=True
)


def _lengths() -> tuple[int, int]:
    """The abonent code lengths this run's settings allow (min, max digits)."""
    return current_run().settings.abonent_code_lengths


@command
def abonent_add(
    code: str = typer.Argument(..., help=N_("Abonent code (digits).")),
    group: str = typer.Option(..., "--group", help=N_("I, II or III.")),
    owner_name: str = typer.Option(..., "--owner-name", help=N_("Owner's full name.")),
    owner_fin: str = typer.Option(..., "--owner-fin", help=N_("Owner's FIN.")),
    address: str = typer.Option(..., "--address", help=N_("Address of the property.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Add one subscriber."""
    from arayis_cli.services.abonents import add_abonent

    with current_run().session() as session:
        abonent = add_abonent(
            session,
            now=now(),
            code_lengths=_lengths(),
            code=code,
            group=group,
            owner_name=owner_name,
            owner_fin=owner_fin,
            address=address,
        )
        code = abonent.code
    _show(code, as_json=as_json, show_pii=show_pii)


@command
def abonent_import(
    file: Path = typer.Argument(..., help=N_("CSV: code,group,owner_name,owner_fin,address.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Import subscribers from CSV; the same file again changes nothing."""
    from arayis_cli.services.abonents import import_abonents

    with current_run().session() as session:
        report = import_abonents(session, file, now=now(), code_lengths=_lengths())
    _report(report.as_json(), as_json=as_json, subject=_("Abonents"))


@command
def abonent_show(
    code: str = typer.Argument(..., help=N_("Abonent code.")),
    as_json: bool = JSON_OPT,
    show_pii: bool = PII_OPT,
) -> None:
    """Owner, group, balance and debt, recent ledger entries."""
    _show(code, as_json=as_json, show_pii=show_pii)


def _show(code: str, *, as_json: bool, show_pii: bool) -> None:
    from rich.table import Table

    from arayis_cli.cli.render import LEDGER_KINDS, code_label, debt_text
    from arayis_cli.formats import fmt_date
    from arayis_cli.money import money_human, money_json
    from arayis_cli.present import abonent_json
    from arayis_cli.services.abonents import abonent_summary

    with current_run().session(write=False) as session:
        summary = abonent_summary(session, code, now=now(), code_lengths=_lengths())
    data = abonent_json(summary["abonent"], show_pii=show_pii)
    data["balance"] = money_json(summary["balance"])
    data["debt"] = money_json(summary["debt"])
    data["ledger"] = [
        {**e, "date": e["date"].isoformat(), "amount": money_json(e["amount"])}
        for e in summary["ledger"]
    ]
    if as_json:
        emit_json(data)
        return
    table = Table(show_header=False, title=f"Abonent {data['code']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row(_("Group"), f"{data['group']} qrup")
    table.add_row(_("Owner"), data["owner_name"])
    table.add_row(_("FIN"), data["owner_fin"])
    table.add_row(_("Address"), data["address"])
    from arayis_cli.cli.render import balance_az

    table.add_row(_("Balance"), balance_az(summary["balance"]))
    table.add_row(_("Debt"), debt_text(summary["debt"]))
    show(table)
    if summary["ledger"]:
        ledger = Table(title=_("Recent entries"), title_justify="left")
        for col, justify in (
            (_("Date"), "left"),
            (_("Kind"), "left"),
            (_("Amount"), "right"),
            (_("Reference"), "left"),
        ):
            ledger.add_column(col, justify=justify)  # type: ignore[arg-type]
        for e in summary["ledger"]:
            kind = code_label(LEDGER_KINDS, e["kind"])
            ledger.add_row(fmt_date(e["date"]), kind, money_human(e["amount"]), e["reference"])
        show(ledger)


@command
def ledger_import(
    file: Path = typer.Argument(..., help=N_("CSV: abonent_code,date,kind,amount,reference.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Load charges, payments and adjustments; a reference already loaded is skipped."""
    from arayis_cli.services.abonents import import_ledger

    with current_run().session() as session:
        report = import_ledger(session, file, now=now(), code_lengths=_lengths())
    _report(report.as_json(), as_json=as_json, subject=_("Ledger entries"))


def _report(report: dict[str, Any], *, as_json: bool, subject: str) -> None:
    if as_json:
        emit_json(report)
    else:
        from arayis_cli.cli.render import print_import_report

        print_import_report(report, subject=subject)
    if report["failed"]:
        raise typer.Exit(int(ExitCode.INVALID_INPUT))


@command
def pay(
    code: str = typer.Argument(..., help=N_("Abonent code.")),
    amount: str = typer.Argument(..., help=N_("Amount in AZN, e.g. 12.50.")),
    reference: str = typer.Option(None, "--reference", help=N_("Payment reference (idempotent).")),
    paid_at: str = typer.Option(None, "--paid-at", help=N_("Payment date (default: today).")),
    again: bool = typer.Option(
        False,
        "--again",
        help=N_(
            "Without --reference, a payment of the same amount on the same day for the same "
            "abonent is refused as a repeat; --again books it as another payment."
        ),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Record a payment (ödəniş) on the abonent's ledger."""
    from arayis_cli.money import from_qepik, money_human, money_json
    from arayis_cli.services.abonents import pay as record_payment
    from arayis_cli.services.common import debt_of

    with current_run().session() as session:
        result = record_payment(
            session,
            code=code,
            amount=amount,
            reference=reference,
            paid_at=paid_at,
            now=now(),
            code_lengths=_lengths(),
            again=again,
        )
    entry = result.entry
    data = {
        "abonent_code": entry.abonent_code,
        "amount": money_json(from_qepik(entry.amount_qepik)),
        "reference": entry.reference,
        "paid_at": entry.entry_date.isoformat(),
        "created": result.created,
        "balance": money_json(result.balance),
        "debt": money_json(debt_of(result.balance)),
    }
    if as_json:
        emit_json(data)
        return
    verb = _("Payment recorded") if result.created else _("This payment was already recorded")
    debt = debt_of(result.balance)
    show(
        f"{verb}: {entry.abonent_code}, {money_human(from_qepik(entry.amount_qepik))} "
        f"({entry.reference}). "
        + (_("Debt left: {debt}.").format(debt=money_human(debt)) if debt > 0 else _("No debt."))
    )


def register(app: typer.Typer) -> None:
    abonent_app.command("add")(abonent_add)
    abonent_app.command("import")(abonent_import)
    abonent_app.command("show")(abonent_show)
    ledger_app.command("import")(ledger_import)
    app.add_typer(abonent_app, name="abonent")
    app.add_typer(ledger_app, name="ledger")
    app.command("pay")(pay)
