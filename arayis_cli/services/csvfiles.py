"""Reading the CSV and JSON Lines files staff and scripts hand us, row by row.

A malformed file (not text, wrong header) is refused whole; a bad row is the caller's
to report with its row number.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _

MAX_FIELD = 10_000
csv.field_size_limit(MAX_FIELD)


def open_text(path: Path) -> io.TextIOWrapper:
    """Open a UTF-8 (BOM allowed) text file, refusing directories and non-files clearly.

    The whole file is checked first (UTF-8, no NUL bytes), so that a file that is not
    text is refused whole before a single row is imported.
    """
    if not path.exists():
        raise InvalidInput(_("file not found: {path}").format(path=path))
    if not path.is_file():
        raise InvalidInput(_("not a regular file: {path}").format(path=path))
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidInput(
            _("cannot read {path}: {exc_strerror}").format(path=path, exc_strerror=exc.strerror)
        ) from None
    _ensure_text(raw, path.name)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")


def _ensure_text(raw: io.BufferedReader, name: str) -> None:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            if b"\x00" in chunk:
                raise InvalidInput(
                    _("{name}: contains NUL bytes, not a text file").format(name=name)
                )
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raw.close()
        raise InvalidInput(
            _("{name}: not UTF-8 text (bad byte near offset {value})").format(
                name=name, value=offset + exc.start
            )
        ) from None
    except InvalidInput:
        raw.close()
        raise
    raw.seek(0)


def read_csv(
    path: Path, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, row) for each data row; row 1 is the first row after the header."""
    fh = open_text(path)
    with fh:
        try:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInput(
                _("{path_name}: not a UTF-8 CSV file ({why})").format(
                    path_name=path.name, why=_why(exc)
                )
            ) from None
        if header is None:
            raise InvalidInput(
                _("{path_name}: empty file, expected a header row").format(path_name=path.name)
            )
        columns = [h.strip() for h in header]
        allowed = set(required) | set(optional)
        missing = [c for c in required if c not in columns]
        unknown = [c for c in columns if c not in allowed]
        if missing or unknown or len(set(columns)) != len(columns):
            expected = ",".join((*required, *optional))
            raise InvalidInput(
                _("{path_name}: wrong header {columns!r}, expected {expected!r}").format(
                    path_name=path.name, columns=",".join(columns)[:120], expected=expected
                )
            )
        number = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    _("{path_name}: not UTF-8 text ({why})").format(
                        path_name=path.name, why=_why(exc)
                    )
                ) from None
            except csv.Error as exc:
                number += 1
                yield number, {"__error__": _("unreadable CSV row: {why}").format(why=exc)}
                continue
            number += 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                yield (
                    number,
                    {
                        "__error__": _("expected {expected} fields, found {found}").format(
                            expected=len(columns), found=len(values)
                        )
                    },
                )
                continue
            yield number, dict(zip(columns, values, strict=True))


def read_jsonl(
    path: Path, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSON Lines file."""
    allowed = set(required) | set(optional)
    fh = open_text(path)
    with fh:
        number = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    _("{path_name}: not UTF-8 text ({why})").format(
                        path_name=path.name, why=_why(exc)
                    )
                ) from None
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": _("not valid JSON: {why}").format(why=exc.msg)}
                continue
            if not isinstance(obj, dict):
                yield number, {"__error__": _("each line must be a JSON object")}
                continue
            unknown = sorted(set(obj) - allowed)
            if unknown:
                yield (
                    number,
                    {"__error__": _("unknown field {name!r}").format(name=unknown[0][:40])},
                )
                continue
            yield number, {k: ("" if v is None else v) for k, v in obj.items()}


def _why(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120]


def is_jsonl(path: Path) -> bool:
    """JSON Lines by extension, or by content when the extension says nothing."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix in (".csv", ".txt"):
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return head.startswith(b"{")


def count_rows(path: Path) -> int | None:
    """Data rows in a file (its lines less the header), for a progress bar; None if unreadable."""
    try:
        with path.open("rb") as fh:
            return max(
                0, sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
            )
    except OSError:
        return None


def row_failure(number: int, error: str, message: str) -> dict[str, Any]:
    """One bad row of a batch report: its number, a stable ``error`` code (the same words
    as a single command's JSON error) and the ``message`` in the operator's language."""
    return {"row": number, "error": error, "message": message}


def bad_row(number: int, row: dict[str, Any]) -> dict[str, Any]:
    """The failure of a row the reader could not read (``__error__``)."""
    return row_failure(number, "invalid_row", row["__error__"])


def refused_row(number: int, exc: Any) -> dict[str, Any]:
    """The failure of a row a service refused (an :class:`ArayisError`)."""
    return row_failure(number, exc.error, exc.message)
