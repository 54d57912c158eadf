"""list: streamed output through the JSON, CSV and table paths of :mod:`arayis_cli.cli.output`.

JSON and CSV never import Rich (scripts call this a lot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from arayis_cli.cli.output import emit_csv, emit_json_array, state
from arayis_cli.i18n import _
from arayis_cli.present import APPLICATION_FIELDS

#: The CSV columns: the application JSON object's fields up to the operator, in its order.
LIST_COLUMNS = APPLICATION_FIELDS[: APPLICATION_FIELDS.index("operator") + 1]
_OVERDUE = LIST_COLUMNS.index("overdue")


def write_list(flt: Any, *, fmt: str, show_pii: bool) -> None:
    """Stream the list: JSON array, CSV or a Rich table; memory stays flat for JSON/CSV.

    Plain rows a batch at a time (not ORM objects), each shaped by
    ``present.application_fields``, as ``show`` is; the CSV columns are the first
    :data:`LIST_COLUMNS` of those fields (``test_list_streams_what_show_shows``).
    """
    from arayis_cli.cli.output import now
    from arayis_cli.db import session_scope
    from arayis_cli.present import APPLICATION_ROW, application_fields, application_record
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.queries import iter_application_rows

    today = baku_date(now())
    day = today.isoformat()
    with session_scope(state.db_url, write=False) as session:
        batches = iter_application_rows(session, flt, columns=APPLICATION_ROW, today=today)
        if fmt == "csv":
            emit_csv((*LIST_COLUMNS, "documents"), _csv_rows(batches, day, show_pii=show_pii))
            return
        records = (
            application_record(application_fields(row, today=day, show_pii=show_pii), documents)
            for part, docs in batches
            for row, documents in zip(part, docs, strict=True)
        )
        if fmt == "json":
            emit_json_array(records)
        else:
            _table(records)


def _csv_rows(
    batches: Iterable[tuple[Sequence[Any], Sequence[Sequence[Any]]]], day: str, *, show_pii: bool
) -> Iterator[tuple[Any, ...]]:
    """The CSV columns are the JSON object's first fields; then the documents' kinds."""
    from arayis_cli.present import application_fields

    for part, docs in batches:
        for row, documents in zip(part, docs, strict=True):
            f = application_fields(row, today=day, show_pii=show_pii)
            kinds = ";".join(d.kind for d in documents) if documents else ""
            row_out = list(f[: len(LIST_COLUMNS)])
            row_out[_OVERDUE] = "true" if row_out[_OVERDUE] else "false"
            yield (*row_out, kinds)


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
