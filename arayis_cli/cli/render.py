"""Rich tables for people (Azerbaijani labels, dd.mm.yyyy, ``12,50 AZN``).

Every value is shown as the literal text it is (the console reads no markup); colour comes
only from the ``Text`` helpers in :mod:`arayis_cli.cli.output`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

from arayis_cli.cli.output import bad, good, join, muted, show, warning
from arayis_cli.workflow import Status

if TYPE_CHECKING:
    from rich.text import Text

STATUS_STYLE = {
    "new": "cyan",
    "in_progress": "yellow",
    "completed": "green",
    "rejected": "red",
}


# History details that hold money (JSON strings "12.50"), shown to people as "12,50 AZN".
MONEY_KEYS = frozenset({"debt", "balance", "amount"})


def status_text(code: str) -> Text:
    from arayis_cli.cli.output import styled

    return styled(Status(code).label, STATUS_STYLE.get(code, "default"))


def date_az(iso: str | None) -> str:
    """An ISO date or time from the JSON shapes, as people read it: dd.mm.yyyy [HH:MM]."""
    if not iso:
        return "—"
    from datetime import date, datetime

    if "T" in iso:
        return datetime.fromisoformat(iso).strftime("%d.%m.%Y %H:%M")
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def money_az(amount: str | Decimal) -> str:
    """Money from the JSON shapes ("12.50") as people read it: ``12,50 AZN``."""
    from arayis_cli.money import money_human

    return money_human(Decimal(amount))


def _detail_text(detail: dict[str, Any]) -> str:
    parts = []
    for key, value in detail.items():
        shown = money_az(value) if key in MONEY_KEYS and value is not None else value
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


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
        ("Qeydiyyat", date_az(data["submitted_at"])),
        (
            "Son tarix",
            join(date_az(data["due_on"]), bad(" (gecikir)"))
            if data["overdue"]
            else date_az(data["due_on"]),
        ),
        ("Operator", data["operator"]),
        ("İmtina səbəbi", data["rejection_reason"]),
        ("Qeyd (override)", data.get("override_reason")),
    ]
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, str(value) if isinstance(value, str | int) else value)
    docs = data.get("documents") or []
    table.add_row(
        "Sənədlər",
        "\n".join(f"{d['kind']}: {d['filename']} ({d['media_type']}, {d['size']} B)" for d in docs)
        or muted("yoxdur"),
    )
    if "checklist" in data:
        table.add_row("Yoxlama", _checklist_text(data["checklist"]))
    if "debt" in data:
        table.add_row("Borc", debt_text(data["debt"]))
    show(table)


def debt_text(debt: str | Decimal) -> Text:
    """The debt in red, or "yoxdur" in green."""
    return bad(money_az(debt)) if Decimal(debt) > 0 else good("yoxdur")


def _checklist_text(checklist: dict[str, Any]) -> Text:
    lines: list[str | Text] = []
    for item in checklist["items"]:
        lines += [good("✓") if item["ok"] else bad("✗"), f" {item['label']}\n"]
    debt = Decimal(checklist["debt"])
    lines += [
        warning("!") if debt > 0 else good("✓"),
        f" Cari borc: {money_az(debt)} (məlumat üçün)",
    ]
    return join(*lines)


def print_detail(data: dict[str, Any]) -> None:
    print_application(data)
    history = Table(title="Tarixçə", title_justify="left")
    for col in ("Vaxt", "Kim", "Operator", "Əməliyyat", "Status", "Təfərrüat"):
        history.add_column(col)
    for ev in data["history"]:
        change = ""
        if ev["to_status"]:
            change = (
                f"{Status(ev['from_status']).label} → " if ev["from_status"] else ""
            ) + Status(ev["to_status"]).label
        detail = ev["detail"] or {}
        history.add_row(
            date_az(ev["at"]),
            ev["actor"],
            ev.get("operator") or "",
            ev["action"],
            change,
            _detail_text(detail),
        )
    show(history)
    if data["emails"]:
        show(emails_table(data["emails"], title="Məktublar", with_application=False))
    if data["certificates"]:
        certs = Table(title="Arayışlar", title_justify="left")
        for col in ("Nömrə", "Verilib", "Etibarlıdır", "Operator"):
            certs.add_column(col)
        for c in data["certificates"]:
            certs.add_row(
                c["certificate_number"],
                date_az(c["issued_at"]),
                date_az(c["valid_until"]),
                c["operator"],
            )
        show(certs)
    if data.get("verifications"):
        checks = Table(title="Yoxlamalar", title_justify="left")
        for col in ("Nömrə", "Vaxt", "Nəticə", "Kanal", "Nə ilə"):
            checks.add_column(col)
        for v in data["verifications"]:
            checks.add_row(
                v["certificate_number"],
                date_az(v["at"]),
                v["verdict"],
                v["channel"],
                v["evidence"],
            )
        show(checks)


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
    parts: list[str | Text] = [good(f"{report['created']} yaradıldı")]
    if "updated" in report:
        parts.append(f", {report['updated']} yeniləndi")
    parts.append(f", {report['existing']} artıq var idi, ")
    parts.append(bad(f"{len(report['failed'])} xəta") if report["failed"] else "0 xəta")
    show(join(*parts))
    if report["failed"]:
        table = Table(title="Xətalı sətirlər", title_justify="left")
        table.add_column("Sətir", justify="right")
        table.add_column("Səbəb")
        for item in report["failed"][:200]:
            table.add_row(str(item["row"]), item["error"])
        show(table)
        if len(report["failed"]) > 200:
            show(f"… və daha {len(report['failed']) - 200} xəta (hamısı üçün --json)")
