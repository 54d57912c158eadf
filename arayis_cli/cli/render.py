"""Rich tables for people (Azerbaijani labels, dd.mm.yyyy, ``12,50 AZN``).

Every value is shown as the literal text it is (the console reads no markup); colour comes
only from the ``Text`` helpers in :mod:`arayis_cli.cli.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

from arayis_cli.cli.output import (
    bad,
    console,
    current_run,
    emit_json,
    good,
    join,
    muted,
    now,
    show,
    warning,
)
from arayis_cli.i18n import N_, _, gettext
from arayis_cli.validation import DOCUMENT_KIND_LABELS
from arayis_cli.workflow import CHECKLIST, Status

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


#: History details for people: each key a label (JSON keeps the keys and the values).
DETAIL_LABELS = {
    "balance": N_("Balance"),
    "debt": N_("Debt"),
    "amount": N_("Amount"),
    "kind": N_("Kind"),
    "filename": N_("File"),
    "sha256": "SHA-256",
    "override": N_("Override reason"),
    "checklist_failures": N_("Checklist not passed"),
    "certificate_number": N_("Certificate"),
    "reason": N_("Reason"),
    "email": N_("Email №"),
    "from": N_("Was"),
    "address_changed": N_("Address corrected"),
    "claimed": N_("Claimed"),
    "four_eyes": N_("Four eyes"),
    "was": N_("Was"),
    "document": N_("Document №"),
    "renews": N_("Replaces"),
    "copy": N_("Copy of the current certificate"),
}


def checklist_failure_label(text: str) -> str:
    """A checklist failure as stored in the history (English, fixed) in the operator's
    language."""
    import re

    if text == "FIN does not match the owner on record":
        return _("the FIN does not match the owner on record")
    found = re.fullmatch(r"(\S+) document missing", text)
    if found:
        kind = code_label(DOCUMENT_KINDS, found.group(1))
        return _("missing: {kind}").format(kind=kind)
    found = re.fullmatch(r"abonent is in group (\S+) now, not group I", text)
    if found:
        return _("the abonent is in group {group} now, not group I").format(group=found.group(1))
    return text


def balance_az(amount: str | Decimal) -> str:
    """A balance for people: a negative one is money paid in advance, and says so."""
    text = money_az(amount)
    return text + " " + _("(overpaid)") if Decimal(amount) < 0 else text


def _detail_value(action: str, key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key == "balance":
        return balance_az(value)
    if key in MONEY_KEYS:
        return money_az(value)
    if key == "kind":
        return code_label(EMAIL_KINDS if action == "email_retry" else DOCUMENT_KINDS, value)
    if key == "from":
        return code_label(OUTBOX_STATES, value)
    if key == "sha256":
        return f"{value[:12]}…"
    if key == "was" and action == "relabel":
        return code_label(DOCUMENT_KINDS, value)
    if key in ("four_eyes", "was"):
        return code_label(ON_OFF, value)
    if key == "claimed":
        return _("the oldest new one (--next)") if value == "next" else str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        shown = [checklist_failure_label(v) if key == "checklist_failures" else v for v in value]
        return "; ".join(map(str, shown))
    return str(value)


def _detail_text(detail: dict[str, Any], action: str = "") -> str:
    """History details as labelled phrases, one per line (``Borc: 12,50 AZN``)."""
    lines = []
    if action == "relabel" and "was" in detail:  # one line: the kind before → after
        detail = dict(detail)
        if "document" in detail:
            name = code_label(DETAIL_LABELS, "document")
            lines.append(f"{name}: {_detail_value(action, 'document', detail.pop('document'))}")
        was = _detail_value(action, "was", detail.pop("was"))
        now_kind = _detail_value(action, "kind", detail.pop("kind", None))
        lines.append(f"{code_label(DETAIL_LABELS, 'kind')}: {was} → {now_kind}")
    for key, value in detail.items():
        name = code_label(DETAIL_LABELS, key)
        lines.append(f"{name}: {_detail_value(action, key, value)}")
    return "\n".join(lines)


@dataclass
class Col:
    """A column of a table that must fit the terminal: ``keep`` orders what is dropped
    first (the highest number goes first); a column that does not ``wrap`` is never cut
    (dates, times, numbers)."""

    header: str
    keep: int = 0
    justify: str = "left"
    wrap: bool = False
    min_wrap: int = 10


def _cell_width(cell: Any) -> int:
    from rich.cells import cell_len

    text = cell.plain if hasattr(cell, "plain") else str(cell)
    return max((cell_len(line) for line in text.split("\n")), default=0)


def fitted(
    title: str | None, cols: list[Col], rows: list[list[Any]], *, width: int | None = None
) -> Table:
    """A table as wide as the terminal at most: columns that do not fit are dropped,
    lowest priority first, and only wrapping columns (names, reasons) are narrowed; a
    date, a time or a number is never cut."""
    from rich import box

    width = width or console().width
    need = []
    for i, col in enumerate(cols):
        natural = max([_cell_width(col.header), *(_cell_width(r[i]) for r in rows)])
        header = max(_cell_width(word) for word in col.header.split() or [""])
        need.append(max(min(natural, col.min_wrap), header) if col.wrap else natural)
    kept = list(range(len(cols)))

    def total() -> int:
        return sum(need[i] for i in kept) + 3 * (len(kept) - 1)  # " " rule, padding 1+1

    for i in sorted(range(len(cols)), key=lambda i: -cols[i].keep):
        if total() <= width or cols[i].keep == 0:
            break
        kept.remove(i)
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for i in kept:
        col = cols[i]
        table.add_column(
            col.header,
            justify=col.justify,  # type: ignore[arg-type]
            no_wrap=not col.wrap,
            min_width=None if col.wrap else need[i],
            overflow="fold",
        )
    for r in rows:
        table.add_row(*(r[i] for i in kept))
    return table


def print_application(data: dict[str, Any], *, title: str | None = None) -> None:
    table = Table(
        show_header=False,
        title=title or _("Application №{id}").format(id=data["id"]),
        title_justify="left",
    )
    table.add_column(style="bold")
    table.add_column()
    rows = [
        (_("Status"), status_text(data["status"])),
        (_("Abonent code"), data["abonent_code"]),
        (_("Owner"), data.get("owner_name")),
        (_("FIN"), data["fin"]),
        (_("Phone"), data["phone"]),
        (_("Email"), data["email"]),
        (_("Channel"), code_label(CHANNELS, data["channel"])),
        (_("External id"), data["external_id"]),
        (_("Registered"), date_az(data["submitted_at"])),
        (
            _("Due"),
            join(date_az(data["due_on"]), bad(_(" (overdue)")))
            if data["overdue"]
            else date_az(data["due_on"]),
        ),
        (_("Operator"), data["operator"]),
        (_("Reason for rejection"), data["rejection_reason"]),
        (_("Note (override)"), data.get("override_reason")),
    ]
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, str(value) if isinstance(value, str | int) else value)
    docs = data.get("documents") or []
    table.add_row(
        _("Documents"),
        "\n".join(
            f"№{d['id']} {code_label(DOCUMENT_KINDS, d['kind'])}: {d['filename']} "
            f"({d['media_type']}, {d['size']} B)"
            for d in docs
        )
        or muted(_("none")),
    )
    if "checklist" in data:
        table.add_row(_("Checklist"), _checklist_text(data["checklist"]))
    if "debt" in data:
        table.add_row(_("Debt"), debt_text(data["debt"]))
    show(table)


#: Codes shown to people: a label in the operator's language (N_ marks them for the
#: catalogue; JSON keeps the codes). An unknown code is shown as it is.
LEDGER_KINDS = {"charge": N_("charge"), "payment": N_("payment"), "adjustment": N_("adjustment")}
EMAIL_KINDS = {
    "received": N_("received"),
    "rejected": N_("rejected"),
    "approved_no_debt": N_("ready to print"),
    "approved_debt": N_("debt first"),
}
#: Delivery states of an email (outbox list/show, show --as-subscriber).
OUTBOX_STATES = {
    "pending": N_("queued"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
}
#: Policy switches.
ON_OFF = {"on": N_("on"), "off": N_("off")}
#: Verdicts of a verification, and where it was asked.
VERDICTS = {
    "valid": N_("valid"),
    "revoked": N_("revoked"),
    "superseded": N_("superseded"),
    "altered": N_("altered"),
    "bad signature": N_("bad signature"),
    "expired": N_("expired"),
    "not in register": N_("not in register"),
    "not a certificate": N_("not a certificate"),
    "key compromised": N_("key compromised"),
    "demo": N_("demo sample"),
    "does not match": N_("does not match"),
    "register altered": N_("register altered"),
}
VERIFY_CHANNELS = {"cli": N_("command line"), "web": N_("web page"), "api": N_("web API")}
EVIDENCE = {"pdf": N_("PDF file"), "token": N_("QR code"), "number": N_("number")}
#: Document kinds (attach --kind).
DOCUMENT_KINDS = DOCUMENT_KIND_LABELS
#: Channels an application came through.
CHANNELS = {"egov": N_("e-gov portal"), "azersu": N_("Azərsu portal"), "office": N_("office")}
#: Checklist items for people (JSON keeps the code and the Azerbaijani ``label``).
ACTIONS = {
    "submit": N_("registered"),
    "attach": N_("documents attached"),
    "detach": N_("document detached"),
    "relabel": N_("document kind corrected"),
    "review": N_("taken into work"),
    "approve": N_("completed"),
    "reject": N_("rejected"),
    "print": N_("certificate printed"),
    "renew": N_("certificate renewed"),
    "print_refused": N_("print refused (debt)"),
    "revoke": N_("certificate revoked"),
    "email_retry": N_("email queued again"),
}


def code_label(labels: dict[str, str], code: str) -> str:
    """The label of ``code`` in the current language, or the code itself."""
    found = labels.get(code)
    return gettext(found) if found is not None else code


def debt_text(debt: str | Decimal) -> Text:
    """The debt in red, or "yoxdur" in green."""
    return bad(money_az(debt)) if Decimal(debt) > 0 else good(_("none"))


def _checklist_text(checklist: dict[str, Any]) -> Text:
    lines: list[str | Text] = []
    for item in checklist["items"]:
        code = item["code"]
        shown = code_label(CHECKLIST, code) if code in CHECKLIST else item["label"]
        lines += [good("✓") if item["ok"] else bad("✗"), f" {shown}\n"]
    debt = Decimal(checklist["debt"])
    lines += [
        warning("!") if debt > 0 else good("✓"),
        " " + _("Current debt: {amount} (for information)").format(amount=money_az(debt)),
    ]
    return join(*lines)


def print_detail(data: dict[str, Any]) -> None:
    print_application(data)
    rows = []
    for ev in data["history"]:
        what = code_label(ACTIONS, ev["action"])
        if ev["action"] == "attach" and "document" in (ev["detail"] or {}):
            what = _("document attached again")  # the same bytes, once detached
        if ev["to_status"]:
            change = (
                f"{Status(ev['from_status']).label} → " if ev["from_status"] else ""
            ) + Status(ev["to_status"]).label
            what += "\n" + change
        who = ev["actor"]
        if ev.get("operator") and ev["operator"] != who:
            who += f"\n({ev['operator']})"
        rows.append([date_az(ev["at"]), who, what, _detail_text(ev["detail"] or {}, ev["action"])])
    cols = [
        Col(_("Time")),
        Col(_("Who"), wrap=True, min_wrap=8),
        Col(_("Action"), wrap=True, min_wrap=14),
        Col(_("Details"), wrap=True, min_wrap=24),
    ]
    show(fitted(_("History"), cols, rows))
    if data["emails"]:
        show(emails_table(data["emails"], title=_("Emails"), with_application=False))
    if data["certificates"]:
        rows = []
        for c in data["certificates"]:
            revoked: str | Text = (
                bad(f"{date_az(c['revoked_at'])}\n{c['revocation_reason'] or ''}".strip())
                if c.get("revoked_at")
                else ""
            )
            if not revoked and c.get("superseded_at"):
                revoked = _("superseded by {number} ({at})").format(
                    number=c["superseded_by"], at=date_az(c["superseded_at"])
                )
            rows.append(
                [
                    c["certificate_number"],
                    date_az(c["issued_at"]),
                    date_az(c["valid_until"]),
                    c["operator"],
                    revoked,
                ]
            )
        cols = [
            Col(_("Number")),
            Col(_("Issued")),
            Col(_("Valid until")),
            Col(_("Operator"), keep=2, wrap=True, min_wrap=8),
            Col(_("Revoked"), keep=1, wrap=True, min_wrap=16),
        ]
        show(fitted(_("Certificates"), cols, rows))
    if data.get("verifications"):
        rows = [
            [
                v["certificate_number"],
                date_az(v["at"]),
                code_label(VERDICTS, v["verdict"]),
                code_label(VERIFY_CHANNELS, v["channel"]),
                code_label(EVIDENCE, v["evidence"]),
            ]
            for v in data["verifications"]
        ]
        cols = [
            Col(_("Number")),
            Col(_("Time")),
            Col(_("Result"), wrap=True),
            Col(_("Channel"), keep=2, wrap=True),
            Col(_("Evidence"), keep=1, wrap=True),
        ]
        show(fitted(_("Verifications"), cols, rows))
    if data.get("api_calls"):
        rows = [
            [
                date_az(call["at"]),
                call["client"] or "—",
                f"{call['method']} {call['route']}",
                f"{call['status']} {call['outcome']}",
            ]
            for call in data["api_calls"]
        ]
        cols = [
            Col(_("Time")),
            Col(_("Client"), keep=2, wrap=True),
            Col(_("Call"), wrap=True, min_wrap=16),
            Col(_("Result"), keep=1, wrap=True),
        ]
        show(fitted(_("Portal API calls"), cols, rows))


def emails_table(rows: list[dict[str, Any]], *, title: str, with_application: bool) -> Table:
    """Outbox messages and their delivery state (show): the full text is in outbox show."""
    cols = [
        Col("№", justify="right"),
        Col(_("Application"), justify="right", keep=5),
        Col(_("Kind"), wrap=True),
        Col(_("Status")),
        Col(_("Tries"), justify="right", keep=3),
        Col(_("To"), keep=4, wrap=True, min_wrap=16),
        Col(_("Subject"), keep=2, wrap=True, min_wrap=16),
        Col(_("Error"), keep=1, wrap=True, min_wrap=12),
    ]
    cells = []
    for m in rows:
        cells.append(
            [
                str(m["id"]),
                str(m["application_id"]),
                code_label(EMAIL_KINDS, m["kind"]),
                code_label(OUTBOX_STATES, m["status"]),
                str(m["attempts"]),
                m["to"],
                m["subject"],
                m["last_error"] or "",
            ]
        )
    if not with_application:
        del cols[1]
        for c in cells:
            del c[1]
    return fitted(title, cols, cells)


def print_import_report(report: dict[str, Any], *, subject: str | None = None) -> None:
    """``Müraciətlər: 12 yaradıldı, …``: what was created is named (``subject``)."""
    parts: list[str | Text] = [f"{subject}: "] if subject else []
    parts.append(good(_("{created} created").format(created=report["created"])))
    if "updated" in report:
        parts.append(", " + _("{updated} updated").format(updated=report["updated"]))
    parts.append(", " + _("{existing} already there").format(existing=report["existing"]) + ", ")
    parts.append(
        bad(_("{failed} with errors").format(failed=len(report["failed"])))
        if report["failed"]
        else _("0 with errors")
    )
    show(join(*parts))
    if report["failed"]:
        table = Table(title=_("Rows with errors"), title_justify="left")
        table.add_column(_("Row"), justify="right")
        table.add_column(_("Reason"))
        for item in report["failed"][:200]:
            table.add_row(str(item["row"]), item["message"])
        show(table)
        if len(report["failed"]) > 200:
            more = len(report["failed"]) - 200
            show(_("… and {more} more rows with errors (--json shows them all)").format(more=more))


# -- support staff (issue 14): plain Text only, nothing a person typed is read as markup --


def outbox_list_table(rows: list[dict[str, Any]], *, title: str) -> Table:
    """``outbox list`` for people, as wide as the terminal: the address goes first when it
    does not fit; the subject and the full error are in ``outbox show MSG_ID``."""
    from rich.text import Text

    cells = []
    for m in rows:
        if m["status"] == "sent":
            when = Text(date_az(m["sent_at"]), style="green")
        elif m["status"] == "pending" and m.get("next_attempt_at"):
            when = Text("→ " + date_az(m["next_attempt_at"]))
        else:
            when = Text("")
        status = Text(
            code_label(OUTBOX_STATES, m["status"]), style=_OUTBOX_STYLE.get(m["status"], "")
        )
        cells.append(
            [
                Text(str(m["id"])),
                Text(str(m["application_id"])),
                Text(code_label(EMAIL_KINDS, m["kind"])),
                status,
                Text(str(m["attempts"])),
                when,
                Text(m["to"]),
            ]
        )
    cols = [
        Col("№", justify="right"),
        Col(_("App."), justify="right"),
        Col(_("Kind"), wrap=True, min_wrap=12),
        Col(_("Status")),
        Col(_("Tries"), justify="right", keep=2),
        Col(_("Sent / next")),
        Col(_("To"), keep=1, wrap=True, min_wrap=16),
    ]
    return fitted(title, cols, cells)


_OUTBOX_STYLE = {"sent": "green", "failed": "red", "sending": "yellow", "pending": "cyan"}


def print_outbox_message(data: dict[str, Any]) -> None:
    """``outbox show``: headers, the body as plain text, then the delivery state."""
    from rich.text import Text

    out = console()
    head = Text()
    for name, value in data["headers"].items():
        head.append(f"{name}: ", style="bold")
        head.append(value if value is not None else "—")
        head.append("\n")
    out.print(head, end="")
    out.print(Text(""))
    # Word-wrapped to the terminal for reading; --json has the body exactly as sent.
    out.print(Text(data["body_text"].rstrip("\n")))
    out.print(Text(""))
    state = Text()
    rows = [
        (_("Email №"), str(data["id"])),
        (_("Application"), str(data["application_id"])),
        (_("Kind"), code_label(EMAIL_KINDS, data["kind"])),
        (_("Status"), code_label(OUTBOX_STATES, data["status"])),
        (_("Attempts"), str(data["attempts"])),
        (_("Last error"), data["last_error"] or "—"),
        (_("Next attempt"), date_az(data["next_attempt_at"])),
        (_("Created"), date_az(data["created_at"])),
        (_("Sent"), date_az(data["sent_at"])),
    ]
    for label, value in rows:
        state.append(f"{label}: ", style="bold")
        style = _OUTBOX_STYLE.get(data["status"], "") if label == _("Status") else ""
        state.append(value, style=style)
        state.append("\n")
    out.print(state, end="")


def print_subscriber_view(data: dict[str, Any]) -> None:
    """``show --as-subscriber``: the portal's page, then each email as it was sent."""
    from rich.text import Text

    out = console()
    page = Text()
    page.append(
        _("Application №{id} — on the portal").format(id=data["application_id"]) + "\n",
        style="bold",
    )
    page.append(_("Status: "), style="bold")
    page.append(data["status_label"] + "\n")
    page.append(_('"Print": '), style="bold")
    page.append(
        _("enabled") if data["print_enabled"] else _("not enabled"),
        style="green" if data["print_enabled"] else "dim",
    )
    page.append("\n")
    page.append(_("Message: "), style="bold")
    page.append(data["message"] + "\n")
    out.print(page, end="")
    for i, email in enumerate(data["emails"], 1):
        text = Text()
        kind = code_label(EMAIL_KINDS, email["kind"])
        text.append("\n" + _("Email {n} ({kind}): ").format(n=i, kind=kind), style="bold")
        text.append(
            code_label(OUTBOX_STATES, email["status"]),
            style=_OUTBOX_STYLE.get(email["status"], ""),
        )
        if email["sent_at"]:
            text.append(", " + _("sent {when}").format(when=date_az(email["sent_at"])))
        text.append(_("\nSubject: "), style="bold")
        text.append(email["subject"] + "\n\n")
        text.append(email["body_text"].rstrip("\n") + "\n")
        out.print(text, end="")
    if not data["emails"]:
        out.print(Text(_("\nNo emails."), style="dim"))


def print_print_check(data: dict[str, Any]) -> None:
    """``show``'s answer to "I paid, why can't I print?": balance, recent ledger, print
    attempts, and one line saying what blocks printing now."""
    from decimal import Decimal

    from rich.text import Text

    from arayis_cli.money import money_human

    out = console()
    debt = Decimal(data["debt"])
    summary = Text()
    summary.append(_("Balance: "), style="bold")
    summary.append(balance_az(data["balance"]))
    summary.append(_("   Debt: "), style="bold")
    summary.append(money_human(debt), style="red" if debt > 0 else "green")
    out.print(summary)
    if data["recent_ledger"]:
        ledger = Table(title=_("Recent ledger entries"), title_justify="left")
        for col in (_("Date"), _("Kind"), _("Amount"), _("Reference")):
            ledger.add_column(col, justify="right" if col == _("Amount") else "left")
        for e in data["recent_ledger"]:
            ledger.add_row(
                Text(date_az(e["date"])),
                Text(code_label(LEDGER_KINDS, e["kind"])),
                Text(money_human(Decimal(e["amount"]))),
                Text(e["reference"]),
            )
        out.print(ledger)
    if data["print_attempts"]:
        attempts = Table(title=_("Print attempts"), title_justify="left")
        for col in (_("Time"), _("Who"), _("Result"), _("Debt seen")):
            attempts.add_column(col)
        for a in data["print_attempts"]:
            outcome = (
                Text(
                    _("printed {number}").format(number=a["certificate_number"] or "").strip(),
                    style="green",
                )
                if a["printed"]
                else Text(_("refused (debt)"), style="red")
            )
            seen = money_human(Decimal(a["debt"])) if a["debt"] is not None else "—"
            attempts.add_row(Text(date_az(a["at"])), Text(a["actor"]), outcome, Text(seen))
        out.print(attempts)
    blocker = data["print_blocker"]
    line = Text(_("Print: "), style="bold")
    ok = blocker["code"] in ("none", "valid_certificate")
    line.append(blocker["message"], style="green" if ok else "red")
    out.print(line)


def print_changes(entries: list[dict[str, Any]], next_cursor: int) -> None:
    """``changes`` for people: the feed entries, then the cursor to continue from."""
    from rich.text import Text

    out = console()
    if entries:
        from rich import box

        table = Table(
            title=_("Status changes"), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
        )
        for col in (
            "Kursor",
            _("Application"),
            _("External id"),
            _("Status"),
            _("Print"),
            _("Time"),
        ):
            right = col in ("Kursor", _("Application"))
            table.add_column(
                col, justify="right" if right else "left", no_wrap=col != _("External id")
            )
        for c in entries:
            table.add_row(
                Text(str(c["cursor"])),
                Text(str(c["application_id"])),
                Text(c["external_id"] or "—"),
                Text(c["status_label"], style=STATUS_STYLE.get(c["status"], "")),
                Text(_("yes") if c["print_enabled"] else "xeyr"),
                Text(date_az(c["at"])),
            )
        out.print(table)
    else:
        out.print(Text(_("No new changes."), style="dim"))
    out.print(Text(_("Next cursor (--after): {cursor}").format(cursor=next_cursor)))


# The application object: read, then shown (submit, attach, show, review, reject, approve).


def application_data(
    app_id: int, *, show_pii: bool, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The application object of docs/json.md (read in its own transaction), plus ``extra``."""
    from arayis_cli.services.common import get_application

    with current_run().session(write=False) as session:
        app = get_application(session, app_id)
        return application_payload(session, app, show_pii=show_pii, extra=extra)


def application_payload(
    session: Any, app: Any, *, show_pii: bool, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The application object, read in the caller's transaction."""
    from arayis_cli.present import application_json
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.queries import documents_of

    docs = documents_of(session, [app.id]).get(app.id, [])
    data = application_json(app, docs, today=baku_date(now()), show_pii=show_pii)
    return {**data, **(extra or {})}


def show_application(data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(data)
    else:
        print_application(data)
