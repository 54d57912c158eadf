"""All output in one place: data to stdout (JSON, CSV or Rich tables), messages to stderr,
and the mapping from domain exceptions to exit codes (SPEC §4).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from arayis_cli.config import settings
from arayis_cli.errors import ArayisError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """Global options, set by the root callback for each invocation."""

    db_url: str = ""
    db_explicit: bool = False
    operator: str = ""


state = State()
_consoles: dict[bool, Console] = {}


def console(*, stderr: bool = False) -> Console:
    """Rich console: colours only on a terminal; stdout for data, stderr for messages."""
    from rich.console import Console

    key = stderr
    stream = sys.stderr if stderr else sys.stdout
    cached = _consoles.get(key)
    if cached is None or cached.file is not stream:
        cached = Console(file=stream, highlight=False, soft_wrap=False)
        _consoles[key] = cached
    return cached


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def say(message: str) -> None:
    """A message for people, on stderr."""
    console(stderr=True).print(message)


def now() -> datetime:
    """The current time; ``ARAYIS_NOW`` (ISO 8601) freezes it for tests and rehearsals."""
    frozen = settings().now
    return frozen.astimezone(UTC) if frozen is not None else datetime.now(UTC)


def _report(exc: ArayisError, *, as_json: bool) -> None:
    if as_json:
        sys.stderr.write(json.dumps(exc.as_json(), ensure_ascii=False) + "\n")
    else:
        text = exc.message.replace("\n", " ")
        sys.stderr.write(f"arayis: {text}\n")


def command(fn: F) -> F:
    """Wrap a command: domain errors become one line on stderr and the SPEC exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json")) or kwargs.get("fmt") == "json"
        try:
            settings()  # a bad ARAYIS_* value refuses every command alike (SPEC §5.1)
            return fn(*args, **kwargs)
        except ArayisError as exc:
            _report(exc, as_json=as_json)
            raise typer.Exit(int(exc.exit_code)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("arayis: interrupted\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            if _debug():
                raise
            err = _internal(exc)
            _report(err, as_json=as_json)
            raise typer.Exit(int(err.exit_code)) from None

    return wrapper  # type: ignore[return-value]


def _debug() -> bool:
    try:
        return settings().debug
    except ArayisError:  # a bad ARAYIS_* value is reported by the command, not here
        return False


def _internal(exc: Exception) -> ArayisError:
    """An unexpected failure: named by type only, since messages may carry personal data."""
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover
        OperationalError = ()  # type: ignore[assignment,misc]
    if isinstance(exc, OperationalError):
        orig = getattr(exc, "orig", None)
        first = str(orig).strip().splitlines()[0][:160] if orig else type(exc).__name__
        err = ArayisError(f"database error: {first}")
    elif isinstance(exc, OSError) and exc.strerror:
        err = ArayisError(f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror)
    else:
        err = ArayisError(
            f"internal error ({type(exc).__name__}); set ARAYIS_DEBUG=1 for the traceback"
        )
    err.exit_code = ExitCode.INTERNAL
    err.error = "internal"
    return err


JSON_OPT = typer.Option(False, "--json", help="Print one JSON document on stdout.")
PII_OPT = typer.Option(False, "--show-pii", help="Show FIN, phone and email unmasked.")


def actor() -> str:
    """The operator recorded in history (validated like any other text input)."""
    from arayis_cli.validation import clean_text

    return clean_text(state.operator, "operator", limit=100)
