"""list: streamed output through the JSON, CSV and table paths of :mod:`arayis_cli.cli.output`.

JSON and CSV never import Rich (scripts call this a lot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from arayis_cli.cli.output import current_run, emit_csv, emit_json_array
from arayis_cli.i18n import _
from arayis_cli.present import APPLICATION_FIELDS

#: The CSV columns: the application JSON object's fields up to the operator, in its order.
LIST_COLUMNS = APPLICATION_FIELDS[: APPLICATION_FIELDS.index("operator") + 1]
_OVERDUE = LIST_COLUMNS.index("overdue")


def write_list(flt: Any, *, fmt: str, show_pii: bool, people_limit: bool = False) -> None:
    """Stream the list: JSON array, CSV or a Rich table; memory stays flat for JSON/CSV.

    Plain rows a batch at a time (not ORM objects), each shaped by
    ``present.application_fields``, as ``show`` is; the CSV columns are the first
    :data:`LIST_COLUMNS` of those fields (``test_list_streams_what_show_shows``).
    """
    from arayis_cli.cli.output import now
    from arayis_cli.present import APPLICATION_ROW, application_fields, application_record
    from arayis_cli.services.common import baku_date
    from arayis_cli.services.queries import iter_application_rows

    today = baku_date(now())
    day = today.isoformat()
    shown = total = 0
    with current_run().session(write=False) as session:
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
            return
        shown = _table(records)
        if people_limit and shown >= (flt.limit or 0):
            from arayis_cli.services.queries import count_applications

            total = count_applications(session, flt, today=today)
    if fmt == "table" and people_limit and shown >= (flt.limit or 0) and total > flt.offset + shown:
        from arayis_cli.cli.output import muted, show
        from arayis_cli.i18n import ngettext

        more = total - flt.offset - shown
        show(
            muted(
                ngettext(
                    "{more} more application not shown: --offset {next} for the next page, "
                    "--all for every one.",
                    "{more} more applications not shown: --offset {next} for the next page, "
                    "--all for every one.",
                    more,
                ).format(more=more, next=flt.offset + shown)
            )
        )


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


def _table(rows: Iterable[dict[str, Any]]) -> int:
    """The table for people, as wide as the terminal (lower-priority columns go first, a
    date is never cut), with a legend for the overdue mark; how many rows it showed."""
    from arayis_cli.cli.output import bad, join, muted, show
    from arayis_cli.cli.render import CHANNELS, Col, code_label, date_az, fitted, status_text

    cells = []
    overdue = False
    for row in rows:
        due = date_az(row["due_on"])
        overdue = overdue or bool(row["overdue"])
        cells.append(
            [
                str(row["id"]),
                row["abonent_code"],
                status_text(row["status"]),
                date_az(row["submitted_at"]),
                join(due, bad(" !")) if row["overdue"] else due,
                row["fin"],
                str(len(row["documents"])),
                code_label(CHANNELS, row["channel"]),
                row["operator"] or "",
            ]
        )
    if not cells:
        show(muted(_("No applications found.")))
        return 0
    cols = [
        Col("№", justify="right"),
        Col(_("Abonent code")),
        Col(_("Status")),
        Col(_("Registered")),
        Col(_("Due")),
        Col(_("FIN"), keep=1),
        Col(_("Docs"), justify="right", keep=2),
        Col(_("Channel"), keep=4, wrap=True),
        Col(_("Operator"), keep=3, wrap=True, min_wrap=8),
    ]
    show(fitted(_("Applications"), cols, cells))
    if overdue:
        show(join(bad("!"), " " + _("past its due date (overdue)")))
    return len(cells)
