"""The root Typer app: global options, and every command group registered.

Only typer is imported here; each command imports what it needs when it runs, so
``arayis --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from arayis_cli import __version__
from arayis_cli.cli import (
    access,
    admin,
    certificates,
    decisions,
    intake,
    outbox,
    reference,
    support,
)
from arayis_cli.cli.output import emit_text, json_text, state
from arayis_cli.config import ENV_DB, ENV_OPERATOR
from arayis_cli.errors import ExitCode

app = typer.Typer(
    name="arayis",
    help=(
        "Back-office tool for Azərsu certificates of no debt "
        "(borcun olmaması haqqında arayış), group I subscribers."
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        emit_text(f"arayis {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    db: str = typer.Option(
        None,
        "--db",
        envvar=ENV_DB,
        help="SQLAlchemy database URL (default: a SQLite file in the user's data directory).",
        show_default=False,
    ),
    operator: str = typer.Option(
        None,
        "--operator",
        envvar=ENV_OPERATOR,
        help="Who is acting, recorded in the history (default: the OS user name).",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    from arayis_cli.config import default_database_url, default_operator
    from arayis_cli.errors import ArayisError

    state.db_explicit = bool(db)
    try:
        state.db_url = db or default_database_url()
        state.operator = (operator or "").strip() or default_operator()
    except ArayisError:
        # A bad ARAYIS_* value: every command reads the settings first and reports it
        # there, as one line (or JSON with --json) and exit 2.
        state.db_url, state.operator = db or "", (operator or "").strip()


intake.register(app)
decisions.register(app)
certificates.register(app)
reference.register(app)
outbox.register(app)
admin.register(app)
support.register(app)
access.register(app)
# Last: every command registered above passes the role check and the PII audit (SPEC §5.4).
access.guard_all(app)


def main() -> None:
    """Console entry point. Usage errors keep Typer's message for people; with ``--json``
    they become the same one-line JSON error object as every other refusal."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument …
        exit_code = getattr(exc, "exit_code", int(ExitCode.INVALID_INPUT))
        if "--json" in sys.argv[1:]:
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            sys.stderr.write(json_text({"error": "usage", "message": message}) + "\n")
        elif hasattr(exc, "show"):
            exc.show()
        else:
            sys.stderr.write(f"arayis: {exc}\n")
        sys.exit(exit_code)
    except typer.Abort:  # Click turns Ctrl-C outside a command (while parsing) into Abort
        sys.stderr.write("Aborted!\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else int(ExitCode.OK))
