"""changes: the feed the portal polls to mirror application statuses."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, command, emit_json, state
from arayis_cli.cli.params import count_option
from arayis_cli.i18n import N_, _

MAX_CURSOR = 2**63 - 1


@command
def changes(
    after: int = count_option(
        0, "--after", help=N_("Cursor of the last change already seen (0: from the beginning).")
    ),
    limit: int = count_option(
        100, "--limit", help=N_("At most N changes (0 to 10000; 0 only reports the cursor).")
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Status changes in commit order, for the portal; continue from next_cursor."""
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.present import change_json
    from arayis_cli.services.changes import MAX_LIMIT, feed

    if not 0 <= after <= MAX_CURSOR:
        raise InvalidInput(
            _("--after must be a cursor from 0 to {MAX_CURSOR}").format(MAX_CURSOR=MAX_CURSOR)
        )
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput(_("--limit must be from 0 to {MAX_LIMIT}").format(MAX_LIMIT=MAX_LIMIT))
    with session_scope(state.db_url, write=False) as session:
        # --limit 0, like list --limit 0: nothing listed, the cursor stays where it was.
        found, next_cursor = feed(session, after=after, limit=limit) if limit else ([], after)
    entries = [
        change_json(c.cursor, c.application_id, c.external_id, c.status, c.at) for c in found
    ]
    if as_json:
        emit_json({"changes": entries, "next_cursor": next_cursor})
        return
    from arayis_cli.cli.render import print_changes

    print_changes(entries, next_cursor)


def register(app: typer.Typer) -> None:
    app.command("changes")(changes)
