"""All output in one place, one path per format: a JSON document, JSON Lines (batch modes),
CSV, and Rich for people (markup off); data to stdout, messages to stderr; and the mapping
from domain exceptions to exit codes (docs/exit-codes.md).

Rich is imported only when people's output is written: ``list --json`` never loads it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from arayis_cli.errors import ArayisError, ExitCode
from arayis_cli.i18n import N_, _
from arayis_cli.run import Run

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console
    from rich.text import Text

F = TypeVar("F", bound=Callable[..., Any])


def current_run() -> Run:
    """This invocation's :class:`~arayis_cli.run.Run`, which the root callback put on the
    Click context (``ctx.obj``); an empty one outside any invocation."""
    found = _found_run()
    return found if found is not None else Run()


def _found_run() -> Run | None:
    # Typer carries its own copy of Click: its context stack is the one commands run in.
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return ctx.find_object(Run) if ctx is not None else None


def now() -> datetime:
    """The run's clock (``ARAYIS_NOW`` freezes it); the real time outside any run."""
    return current_run().now()


# -- People: one Console, markup off ------------------------------------------------------
# Nothing a person typed (a reason, a name, a file name) may be read as Rich markup or an
# emoji code: the console interprets no markup at all (as pypa/hatch's terminal does), and
# styling is applied only through the ``Text`` helpers below.


def console(*, stderr: bool = False) -> Console:
    """This run's Rich console: colours only on a terminal; stdout for data, stderr for
    messages."""
    return current_run().console(stderr=stderr)


def styled(text: str, style: str) -> Text:
    """``text`` exactly as given, in ``style``; the only way human output gets colour."""
    from rich.text import Text

    return Text(text, style=style)


def good(text: str) -> Text:
    return styled(text, "green")


def bad(text: str) -> Text:
    return styled(text, "red")


def warning(text: str) -> Text:
    return styled(text, "yellow")


def muted(text: str) -> Text:
    return styled(text, "dim")


def strong(text: str) -> Text:
    return styled(text, "bold")


def join(*parts: str | Text) -> Text:
    """Plain strings and styled pieces as one line; plain strings stay literal."""
    from rich.text import Text

    return Text.assemble(*parts)


def show(*renderables: Any) -> None:
    """Output for people on stdout: tables, lines, a rule."""
    with _stdout():
        out = console()
        for renderable in renderables:
            out.print(renderable)


def rule(title: str) -> None:
    """A section heading for people (demo)."""
    with _stdout():
        console().rule(strong(title), align="left")


def say(message: str | Text) -> None:
    """A message for people, on stderr."""
    console(stderr=True).print(message)


# -- Scripts: one JSON document, JSON Lines for batch modes, CSV ---------------------------


def json_text(data: Any) -> str:
    """The one JSON encoding: UTF-8 text kept readable, dates and Decimals as strings."""
    return json.dumps(data, ensure_ascii=False, default=str)


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    emit_text(json_text(data) + "\n")


def emit_json_array(items: Iterable[Any]) -> None:
    """One JSON document (an array) written as the items come: memory stays flat."""
    with _stdout():
        out = sys.stdout
        out.write("[")
        for i, item in enumerate(items):
            out.write(("," if i else "") + json_text(item))
        out.write("]\n")
        out.flush()


def emit_json_line(data: Any) -> None:
    """One JSON Lines record (batch modes: one per id, a refusal as :func:`refusal`),
    flushed so that a script reading the stream sees it at once."""
    emit_text(json_text(data) + "\n")


def emit_text(text: str) -> None:
    """Plain text on stdout, unstyled and unwrapped (JSON, PEM keys, the version)."""
    with _stdout():
        sys.stdout.write(text)
        sys.stdout.flush()


def refusal(exc: ArayisError, **ids: Any) -> dict[str, Any]:
    """A refusal as data: the single command's error object plus the id it concerns."""
    return {**ids, **exc.as_json()}


def emit_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = 2000) -> None:
    """CSV on stdout, ``chunk`` rows at a time: each chunk is formatted by one
    ``writerows`` into a buffer and written at once, so memory stays flat."""
    import csv
    import io
    from itertools import islice

    with _stdout():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        it = iter(rows)
        while True:
            writer.writerows(islice(it, chunk))
            text = buffer.getvalue()
            if not text:
                break
            sys.stdout.write(text)
            buffer.seek(0)
            buffer.truncate()
        sys.stdout.flush()


@contextlib.contextmanager
def _stdout() -> Iterator[None]:
    """Where stdout is written: a reader that went away (``| head -1``) is not an error.

    The rest of the output is dropped and the command ends with exit 0; stdout is pointed
    at the null device first so the interpreter's final flush stays quiet too.
    """
    try:
        yield
    except BrokenPipeError:
        _stdout_to_devnull()
        raise typer.Exit(int(ExitCode.OK)) from None


@dataclass
class Outcome:
    code: int = 0


@contextlib.contextmanager
def quiet_closed_stdout() -> Iterator[Outcome]:
    """Around a whole invocation: output still buffered is flushed while the reader is
    there; a reader that went away (help text, usage errors, the final flush) means exit 0
    and an stdout pointed at the null device, so the interpreter's own flush stays quiet."""
    outcome = Outcome()
    try:
        yield outcome
        sys.stdout.flush()
    except BrokenPipeError:
        if not stdout_closed():
            raise
        _stdout_to_devnull()
        outcome.code = int(ExitCode.OK)


def stdout_closed() -> bool:
    """Has stdout's reader gone away? A pipe whose reader closed polls as an error; an
    stdout that is not a real file (a test runner's buffer) cannot tell, so it counts."""
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):
        return True
    return any(ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, ev in events)


def _stdout_to_devnull() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process ends
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def report_error(exc: ArayisError, *, as_json: bool, app_id: int | None = None) -> None:
    """A refusal on stderr: one JSON object with ``--json``, else one line for people."""
    if as_json:
        sys.stderr.write(json_text(exc.as_json()) + "\n")
        return
    text = exc.message.replace("\n", " ")
    where = f"№{app_id}: " if app_id is not None else ""
    sys.stderr.write(for_terminal(f"arayis: {where}{text}") + "\n")


#: Continuation lines of a wrapped message start under its text, after ``arayis: ``.
INDENT = " " * len("arayis: ")


def for_terminal(line: str, *, indent: str = INDENT) -> str:
    """One message line as a terminal shows it: wrapped at word boundaries to the width of
    the terminal stderr is (``COLUMNS`` first), continuation lines indented, so that the
    terminal never breaks a word; a word longer than a whole line is the only thing cut.
    Redirected or piped (scripts, logs), the message stays one line."""
    width = stderr_columns()
    if width is None or len(line) <= width:
        return line
    import textwrap

    return "\n".join(
        textwrap.wrap(
            line,
            width=width,
            subsequent_indent=indent if len(indent) < width // 2 else "",
            break_on_hyphens=False,
        )
    )


def stderr_columns() -> int | None:
    """The width of the terminal stderr writes to, or None when stderr is not a terminal."""
    try:
        if not sys.stderr.isatty():
            return None
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    import shutil

    columns = shutil.get_terminal_size((0, 0)).columns  # COLUMNS, else stdout's terminal
    if columns <= 0:
        try:
            columns = os.get_terminal_size(fd).columns
        except OSError:
            return None
    return columns if columns >= 20 else None


def command(fn: F) -> F:
    """Wrap a command: domain errors become one line on stderr and their exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json")) or kwargs.get("fmt") == "json"
        try:
            refusal = current_run().refusal  # a bad ARAYIS_* value refuses every command alike
            if refusal is not None:
                raise refusal
            result = fn(*args, **kwargs)
            with _stdout():  # what Rich or Python still buffer, while the reader is there
                sys.stdout.flush()
            return result
        except BrokenPipeError as exc:
            if not stdout_closed():  # some other pipe: a failure like any other
                _fail(exc, as_json=as_json)
            _stdout_to_devnull()  # a reader that went away (``| head -1``): done, exit 0
            raise typer.Exit(int(ExitCode.OK)) from None
        except ArayisError as exc:
            report_error(exc, as_json=as_json)
            raise typer.Exit(int(exc.exit_code)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("arayis: " + _("interrupted") + "\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            _fail(exc, as_json=as_json)

    return wrapper  # type: ignore[return-value]


def _fail(exc: Exception, *, as_json: bool) -> NoReturn:
    """An exception no service turned into a refusal: the environment (exit 8) or a bug."""
    from arayis_cli.unavailable import classify

    err = classify(exc, db_url=current_run().db_url)  # environment failures: exit 8
    if err is None:
        if _debug():
            raise exc
        err = _internal(exc)
    report_error(err, as_json=as_json)
    raise typer.Exit(int(err.exit_code)) from None


def _debug() -> bool:
    return current_run().settings.debug


def _internal(exc: Exception) -> ArayisError:
    """An unexpected failure: named by type only, since messages may carry personal data."""
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover
        OperationalError = ()  # type: ignore[assignment,misc]
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate == "42501":  # insufficient_privilege: the server refused the login (exit 7)
        from arayis_cli.errors import NotPermitted

        first = str(exc.orig).strip().splitlines()[0][:200]  # type: ignore[attr-defined]
        return _not_set_up(first) or NotPermitted(
            _("the database refused it: {first}").format(first=first)
        )
    if sqlstate and sqlstate.startswith("23"):  # integrity: a clash with what is stored
        from arayis_cli.errors import Conflict

        # The first line names the constraint; the values (personal data) come after it.
        first = str(exc.orig).strip().splitlines()[0][:200]  # type: ignore[attr-defined]
        return Conflict(_("the database refused a clash: {first}").format(first=first))
    if isinstance(exc, OperationalError):
        orig = getattr(exc, "orig", None)
        first = str(orig).strip().splitlines()[0][:160] if orig else type(exc).__name__
        err = ArayisError(_("database error: {first}").format(first=first))
    elif isinstance(exc, OSError) and exc.strerror:
        err = ArayisError(f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror)
    else:
        err = ArayisError(
            _("internal error ({name}); set ARAYIS_DEBUG=1 for the traceback").format(
                name=type(exc).__name__
            )
        )
    err.exit_code = ExitCode.INTERNAL
    err.error = "internal"
    return err


def _not_set_up(server_text: str) -> ArayisError | None:
    """A privilege the server lacks because the database was not set up for this login
    (grants missing, a step only the owner may take): what to run, in the user's language,
    instead of the server's words (exit 8: the environment, not the login's role). A
    refusal by the tool's own database checks (``arayis: …``) is left to the caller."""
    import re

    from arayis_cli.errors import Unavailable

    login = _login_name()
    missing = re.match(r"permission denied for (table|relation|sequence|schema) (\S+)", server_text)
    if missing:
        return Unavailable(
            _(
                "login {login} has no grant on {what} in this database: it is not set up for "
                "this login; the database owner must run `arayis db roles` (again after every "
                "`arayis db upgrade`) and an administrator must grant the login its role, e.g. "
                "GRANT arayis_clerk TO {login};"
            ).format(login=login, what=missing.group(2))
        )
    if server_text.startswith("permission denied to create role"):
        return Unavailable(
            _(
                "login {login} may not create roles: a superuser must run once "
                "`ALTER ROLE {login} CREATEROLE;`, then run `arayis db roles` again"
            ).format(login=login)
        )
    if server_text.startswith("must be owner of"):
        return Unavailable(
            _(
                "only the database's owner may do this (it changes the schema or its grants): "
                "run it with the owner's login"
            )
        )
    return None


def _login_name() -> str:
    """The login in the database URL, or else the OS user (libpq's default login)."""
    import getpass

    try:
        from sqlalchemy.engine import make_url

        name = make_url(current_run().db_url).username
    except Exception:
        name = None
    return name or getpass.getuser()


JSON_OPT = typer.Option(False, "--json", help=N_("Print one JSON document on stdout."))
PII_OPT = typer.Option(False, "--show-pii", help=N_("Show FIN, phone and email unmasked."))


def actor() -> str:
    """The operator recorded in history (validated like any other text input)."""
    from arayis_cli.validation import clean_text

    return clean_text(current_run().operator, N_("operator"), limit=100)
