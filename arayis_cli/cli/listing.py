"""list: streamed output through the JSON, CSV and table paths of :mod:`arayis_cli.cli.output`.

JSON and CSV never import Rich (scripts call this a lot).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arayis_cli.cli.output import emit_csv, emit_json_array, state
from arayis_cli.i18n import _

LIST_COLUMNS = (
    "id",
    "abonent_code",
    "status",
    "status_label",
    "fin",
    "phone",
    "email",
    "channel",
    "external_id",
    "submitted_at",
    "due_on",
    "overdue",
    "operator",
)


def write_list(flt: Any, *, fmt: str, show_pii: bool) -> None:
    """Stream the list: JSON array, CSV or a Rich table; memory stays flat for JSON/CSV."""
    from arayis_cli.cli.output import now
    from arayis_cli.db import session_scope
    from arayis_cli.present import application_json
    from arayis_cli.services.applications import iter_applications
    from arayis_cli.services.common import baku_date

    today = baku_date(now())
    with session_scope(state.db_url, write=False) as session:
        rows = (
            application_json(app, docs, today=today, show_pii=show_pii)
            for app, docs in iter_applications(session, flt, today=today)
        )
        if fmt == "json":
            emit_json_array(rows)
        elif fmt == "csv":
            emit_csv(
                (*LIST_COLUMNS, "documents"),
                (
                    (
                        *(_csv_value(row[c]) for c in LIST_COLUMNS),
                        ";".join(d["kind"] for d in row["documents"]),
                    )
                    for row in rows
                ),
            )
        else:
            _table(rows)


def _table(rows: Iterable[dict[str, Any]]) -> None:
    from rich import box
    from rich.table import Table

    from arayis_cli.cli.output import bad, join, muted, show
    from arayis_cli.cli.render import date_az, status_text

    table = Table(title=_("Applications"), title_justify="left", box=box.SIMPLE_HEAD)
    for col, justify, no_wrap in (
        ("№", "right", True),
        (_("Abonent code"), "left", True),
        (_("Status"), "left", True),
        (_("FIN"), "left", True),
        (_("Channel"), "left", False),
        (_("Registered"), "left", False),
        (_("Due"), "left", False),
        (_("Operator"), "left", False),
        (_("Docs"), "right", False),
    ):
        table.add_column(col, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
    count = 0
    for row in rows:
        count += 1
        due = date_az(row["due_on"])
        table.add_row(
            str(row["id"]),
            row["abonent_code"],
            status_text(row["status"]),
            row["fin"],
            row["channel"],
            date_az(row["submitted_at"]),
            join(due, bad(" !")) if row["overdue"] else due,
            row["operator"] or "",
            str(len(row["documents"])),
        )
    show(table if count else muted(_("No applications found.")))


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
