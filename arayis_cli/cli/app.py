"""The root Typer app: global options, and every command group registered.

Only typer is imported here; each command imports what it needs when it runs, so
``arayis --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import typer
import typer.core

from arayis_cli import __version__
from arayis_cli.cli import (
    access,
    admin,
    apikeys,
    certificates,
    changes,
    clickwords,
    decisions,
    demo,
    documents,
    intake,
    outbox,
    reference,
    register,
    serve,
    staff,
)
from arayis_cli.cli.output import emit_text, for_terminal, json_text
from arayis_cli.config import ENV_DB, ENV_OPERATOR, LANGUAGES
from arayis_cli.errors import ExitCode
from arayis_cli.i18n import N_, label, speaking

clickwords.install()


class _RootGroup(typer.core.TyperGroup):
    """Every invocation speaks its own language, from its first word to its last: help and
    usage errors are written while the arguments are parsed, before any callback runs, so
    ``--lang`` is read from the arguments here and is in force (a context variable, see
    :func:`arayis_cli.i18n.speaking`) only while this invocation runs."""

    def main(self, args: Any = None, *rest: Any, **extra: Any) -> Any:
        args = lang_first(list(sys.argv[1:] if args is None else args))
        with speaking(_lang_in_argv(args)):
            return super().main(args, *rest, **extra)


app = typer.Typer(
    name="arayis",
    cls=_RootGroup,
    help=N_(
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


def _lang(value: str | None) -> str | None:
    """Checks the value; :class:`_RootGroup` has put it in force already (eager, so that a
    bad value is refused before anything else)."""
    if value is not None and value.lower() not in LANGUAGES:
        raise typer.BadParameter(
            label(N_("use one of {languages}")).format(languages=", ".join(LANGUAGES))
        )
    return value


@app.callback()
def root(
    ctx: typer.Context,
    db: str = typer.Option(
        None,
        "--db",
        envvar=ENV_DB,
        help=N_("SQLAlchemy database URL (default: a SQLite file in the user's data directory)."),
        show_default=False,
    ),
    operator: str = typer.Option(
        None,
        "--operator",
        envvar=ENV_OPERATOR,
        help=N_("Who is acting, recorded in the history (default: the OS user name)."),
        show_default=False,
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        callback=_lang,
        is_eager=True,
        help=N_("Language of messages: az (default) or en; overrides ARAYIS_LANG."),
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help=N_("Show the version and exit.")
    ),
) -> None:
    from arayis_cli.config import Settings, default_database_url, default_operator
    from arayis_cli.db import Engines
    from arayis_cli.errors import ArayisError
    from arayis_cli.i18n import language
    from arayis_cli.run import Run

    who = (operator or "").strip()
    try:
        current = Settings.from_env()  # once per invocation: commands read the run's
        db_url, who = db or default_database_url(current), who or default_operator(current)
        refusal = None
    except ArayisError as exc:
        # A bad ARAYIS_* value: every command refuses it first (the command wrapper raises
        # run.refusal), as one line (or JSON with --json) and exit 2.
        current, db_url, refusal = Settings(), db or "", exc
    # Engines handed in by a process that runs many invocations (``obj=``, the tests' Cli)
    # are that process's to close; otherwise the run makes its own and closes them.
    given = ctx.obj if isinstance(ctx.obj, Engines) else None
    # The one context of this invocation, for every command under it (hatch's Application).
    run = ctx.obj = Run(
        db_url=db_url,
        db_explicit=bool(db),
        operator=who,
        lang=language(),
        settings=current,
        refusal=refusal,
        engines=given or Engines(data_dir=current.data_dir),
    )
    if given is None:
        ctx.call_on_close(run.engines.dispose)  # nothing of this run outlives it


intake.register(app)
documents.register(app)
decisions.register(app)
certificates.register(app)
serve.register(app)
reference.register(app)
outbox.register(app)
admin.register(app)
demo.register(app)
changes.register(app)
access.register(app)
apikeys.register(app)
register.register(app)
staff.register(app)
# Last: every command registered above passes the role check and the PII audit.
access.guard_all(app)


@functools.cache
def command() -> Any:
    """The Click command tree of :data:`app`, built on first use and kept: typer's
    ``app()`` builds it anew from the registered functions on every call (~30 ms), which a
    process running several commands in-process (the test suite: thousands) pays each time.
    Nothing in it changes between invocations (help is worded when it is shown)."""
    import typer.main

    return typer.main.get_command(app)


def main() -> None:
    """Console entry point: :func:`run` on the command line, its exit code the process's."""
    args = sys.argv[1:]
    sys.exit(run(args))


def run(args: list[str]) -> int:
    """One invocation, in-process. Usage errors keep Typer's message for people; with
    ``--json`` they become the same one-line JSON error object as every other refusal.
    A reader of stdout that went away (``| head -1``) is never an error: exit 0."""
    from arayis_cli.cli.output import quiet_closed_stdout, stdout_closed

    with quiet_closed_stdout() as outcome:
        try:
            outcome.code = _run(args)
        except SystemExit as exc:
            # Click ends with exit 1 when it meets EPIPE itself (help text, its own echo).
            outcome.code = exc.code if isinstance(exc.code, int) else int(ExitCode.INTERNAL)
            if outcome.code == ExitCode.INTERNAL and stdout_closed():
                raise BrokenPipeError from None
    return outcome.code


def _run(args: list[str]) -> int:
    args = lang_first(args)
    with speaking(_lang_in_argv(args)):  # usage errors are reported here, after main()
        return _invoke(args)


def _invoke(args: list[str]) -> int:
    try:
        code = command()(args=args, standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument …
        exit_code = getattr(exc, "exit_code", int(ExitCode.INVALID_INPUT))
        if "--json" in args:
            message = (
                clickwords.usage_message(exc)
                if isinstance(exc, clickwords.click_exc.UsageError)
                else str(exc)
            )
            sys.stderr.write(json_text({"error": "usage", "message": message}) + "\n")
        elif hasattr(exc, "show"):
            exc.show()
        else:
            sys.stderr.write(for_terminal(f"arayis: {exc}") + "\n")
        return int(exit_code)
    except typer.Abort:  # Click turns Ctrl-C outside a command (while parsing) into Abort
        sys.stderr.write(label(N_("Aborted!")) + "\n")
        return int(ExitCode.INTERRUPTED)
    return code if isinstance(code, int) else int(ExitCode.OK)


def lang_first(args: list[str]) -> list[str]:
    """``--lang X`` (or ``--lang=X``) may be written anywhere on the line (``list --lang
    en``): it is a root option, so it is moved in front of the command name."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            return [arg, *args[:i], *args[i + 1 :]]
        if arg == "--lang" and i + 1 < len(args):
            return [arg, args[i + 1], *args[:i], *args[i + 2 :]]
    return args


def _lang_in_argv(args: list[str]) -> str | None:
    """``--lang X`` / ``--lang=X`` before the command name, if valid; else None."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value is not None:
            return value.lower() if value.lower() in LANGUAGES else None
        if not arg.startswith("-") and args[i - 1 : i] not in (["--db"], ["--operator"]):
            return None  # the command name (not the value of a root option)
    return None
