"""Parameters several commands share, parsed strictly in one place (docs/input.md).

An id is 1 … 2⁶³−1 in ASCII digits, a count 0 … 2⁶³−1: anything else is a usage error
(exit 2) before the command runs, never an overflow deep in the database driver.
"""

from __future__ import annotations

from typing import Any

import typer

from arayis_cli.i18n import N_


def _strict(kind: str) -> Any:
    def parse(value: str | int) -> int:
        from arayis_cli.errors import InvalidInput
        from arayis_cli.validation import parse_count, parse_id

        try:
            if kind == "id":
                return parse_id(value, N_("the number"))
            return parse_count(value, N_("the count"))
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message) from None

    return parse


parse_id_param = _strict("id")
parse_count_param = _strict("count")


def app_id_argument(default: Any = ..., help: str = N_("Application number.")) -> Any:
    """An application number (or several, on a ``list[int]`` parameter): shown as ``№``
    (``№...``) in help and usage, not as the parameter's internal name."""
    return typer.Argument(default, help=help, parser=parse_id_param, metavar="№")


def id_option(name: str, help: str) -> Any:
    """An optional id given as an option, e.g. ``--application``."""
    return typer.Option(None, name, help=help, parser=parse_id_param)


def count_option(default: int | None, name: str, help: str) -> Any:
    """A count or offset (``--limit``, ``--offset``, ``--count``)."""
    return typer.Option(default, name, help=help, parser=parse_count_param)
