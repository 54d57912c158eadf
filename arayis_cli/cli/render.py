"""Rich output for people (Azerbaijani labels) and streaming list output for scripts."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from arayis_cli.cli.output import console
from arayis_cli.workflow import Status

STATUS_STYLE = {
    "new": "cyan",
    "in_progress": "yellow",
    "completed": "green",
    "rejected": "red",
}


def status_text(code: str) -> str:
    return f"[{STATUS_STYLE.get(code, 'white')}]{Status(code).label}[/]"


def _date_az(iso: str | None) -> str:
    if not iso:
        return "—"
    from datetime import date, datetime

    if "T" in iso:
        return datetime.fromisoformat(iso).strftime("%d.%m.%Y %H:%M")
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def print_application(data: dict[str, Any], *, title: str | None = None) -> None:
    table = Table(show_header=False, title=title or f"Müraciət №{data['id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Status", status_text(data["status"])),
        ("Abonent kodu", data["abonent_code"]),
        ("Sahibi", data.get("owner_name")),
        ("FİN", data["fin"]),
        ("Telefon", data["phone"]),
        ("Email", data["email"]),
        ("Kanal", data["channel"]),
        ("Xarici id", data["external_id"]),
        ("Qeydiyyat", _date_az(data["submitted_at"])),
        (
            "Son tarix",
            _date_az(data["due_on"]) + (" [red](gecikir)[/]" if data["overdue"] else ""),
        ),
        ("Operator", data["operator"]),
        ("İmtina səbəbi", data["rejection_reason"]),
        ("Qeyd (override)", data.get("override_reason")),
    ]
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, str(value))
    docs = data.get("documents") or []
    table.add_row(
        "Sənədlər",
        "\n".join(f"{d['kind']}: {d['filename']} ({d['media_type']}, {d['size']} B)" for d in docs)
        or "[dim]yoxdur[/]",
    )
    if "checklist" in data:
        table.add_row("Yoxlama", _checklist_text(data["checklist"]))
    if "debt" in data:
        from decimal import Decimal

        from arayis_cli.money import money_human

        debt = Decimal(data["debt"])
        table.add_row("Borc", f"[red]{money_human(debt)}[/]" if debt > 0 else "[green]yoxdur[/]")
    console().print(table)


def _checklist_text(checklist: dict[str, Any]) -> str:
    from decimal import Decimal

    from arayis_cli.money import money_human

    lines = []
    for item in checklist["items"]:
        mark = "[green]✓[/]" if item["ok"] else "[red]✗[/]"
        lines.append(f"{mark} {item['label']}")
    debt = Decimal(checklist["debt"])
    lines.append(
        ("[yellow]![/] " if debt > 0 else "[green]✓[/] ")
        + f"Cari borc: {money_human(debt)} (məlumat üçün)"
    )
    return "\n".join(lines)


def print_detail(data: dict[str, Any]) -> None:
    print_application(data)
    out = console()
    history = Table(title="Tarixçə", title_justify="left")
    for col in ("Vaxt", "Kim", "Əməliyyat", "Status", "Təfərrüat"):
        history.add_column(col)
    for ev in data["history"]:
        change = ""
        if ev["to_status"]:
            change = (
                f"{Status(ev['from_status']).label} → " if ev["from_status"] else ""
            ) + Status(ev["to_status"]).label
        detail = ev["detail"] or {}
        history.add_row(
            _date_az(ev["at"]),
            ev["actor"],
            ev["action"],
            change,
            ", ".join(f"{k}={v}" for k, v in detail.items()),
        )
    out.print(history)
    if data["emails"]:
        out.print(emails_table(data["emails"], title="Məktublar", with_application=False))
    if data["certificates"]:
        certs = Table(title="Arayışlar", title_justify="left")
        for col in ("Nömrə", "Verilib", "Etibarlıdır", "Operator"):
            certs.add_column(col)
        for c in data["certificates"]:
            certs.add_row(
                c["certificate_number"],
                _date_az(c["issued_at"]),
                _date_az(c["valid_until"]),
                c["operator"],
            )
        out.print(certs)
    if data.get("verifications"):
        checks = Table(title="Yoxlamalar", title_justify="left")
        for col in ("Nömrə", "Vaxt", "Nəticə", "Kanal", "Nə ilə"):
            checks.add_column(col)
        for v in data["verifications"]:
            checks.add_row(
                v["certificate_number"],
                _date_az(v["at"]),
                v["verdict"],
                v["channel"],
                v["evidence"],
            )
        out.print(checks)


def emails_table(rows: list[dict[str, Any]], *, title: str, with_application: bool) -> Table:
    """Outbox messages and their delivery state (outbox list, show)."""
    table = Table(title=title, title_justify="left")
    columns = ["№", "Müraciət", "Növ", "Kimə", "Mövzu", "Status", "Cəhd", "Xəta"]
    if not with_application:
        columns.remove("Müraciət")
    for col in columns:
        table.add_column(col)
    for m in rows:
        cells = [str(m["id"]), str(m["application_id"]), m["kind"], m["to"], m["subject"]]
        cells += [m["status"], str(m["attempts"]), m["last_error"] or ""]
        if not with_application:
            del cells[1]
        table.add_row(*cells)
    return table


def print_import_report(report: dict[str, Any]) -> None:
    out = console()
    parts = [f"[green]{report['created']} yaradıldı[/]"]
    if "updated" in report:
        parts.append(f"{report['updated']} yeniləndi")
    parts.append(f"{report['existing']} artıq var idi")
    parts.append(f"[red]{len(report['failed'])} xəta[/]" if report["failed"] else "0 xəta")
    out.print(", ".join(parts))
    if report["failed"]:
        table = Table(title="Xətalı sətirlər", title_justify="left")
        table.add_column("Sətir", justify="right")
        table.add_column("Səbəb")
        for item in report["failed"][:200]:
            table.add_row(str(item["row"]), item["error"])
        out.print(table)
        if len(report["failed"]) > 200:
            out.print(f"… and {len(report['failed']) - 200} more (use --json for all)")
