"""Certificate numbers carry a Damm check digit: typing errors are caught, not misread."""

from __future__ import annotations

import pytest

from arayis_cli.certificate.numbers import certificate_number, parse_number
from arayis_cli.errors import InvalidInput


def test_format() -> None:
    assert certificate_number(2026, 1) == "AR-2026-000001-5"
    assert parse_number(" ar-2026-000001-5 ") == "AR-2026-000001-5"


@pytest.mark.parametrize("seq", [1, 123, 98765, 400000])
def test_every_single_digit_error_is_caught(seq: int) -> None:
    good = certificate_number(2026, seq)
    digits = [i for i, ch in enumerate(good) if ch.isdigit()]
    for i in digits:
        for d in "0123456789":
            if d != good[i]:
                typo = good[:i] + d + good[i + 1 :]
                with pytest.raises(InvalidInput):
                    parse_number(typo)


@pytest.mark.parametrize("seq", [12, 3456, 789012])
def test_adjacent_swaps_are_caught(seq: int) -> None:
    good = certificate_number(2026, seq)
    body = good.replace("AR-", "").replace("-", "")
    for i in range(len(body) - 1):
        if body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
            typo = f"AR-{swapped[:4]}-{swapped[4:-1]}-{swapped[-1]}"
            with pytest.raises(InvalidInput):
                parse_number(typo)


@pytest.mark.parametrize("text", ["AR-2026-000001", "AR-26-000001-5", "XX-2026-000001-5", ""])
def test_malformed(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_number(text)
