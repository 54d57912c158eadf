"""Money in AZN: exact decimals at the edges, integer qəpik in the database."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from arayis_cli.errors import InvalidInput

QEPIK = Decimal("0.01")


def parse_amount(text: str | Decimal | int, *, allow_negative: bool = False) -> Decimal:
    """Parse an AZN amount with at most two decimals ("12.50", "12,50", "1 200.00")."""
    if isinstance(text, Decimal | int):
        value = Decimal(text)
    else:
        cleaned = str(text).strip().replace("\u00a0", "").replace(" ", "")
        if cleaned.upper().endswith("AZN"):
            cleaned = cleaned[:-3]
        if "," in cleaned and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidInput(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"not an amount: {text!r}")
    if value.copy_abs() >= Decimal("1e12"):
        raise InvalidInput(f"amount is too large: {str(text)[:40]!r}")
    if value != value.quantize(QEPIK):
        raise InvalidInput(f"amount has more than two decimals: {str(text)[:40]!r}")
    value = value.quantize(QEPIK)
    if value < 0 and not allow_negative:
        raise InvalidInput(f"amount must not be negative: {text!r}")
    return value


def to_qepik(amount: Decimal) -> int:
    qepik = amount * 100
    if qepik != qepik.to_integral_value():
        raise ValueError(f"not a whole number of qəpik: {amount}")
    return int(qepik)


def from_qepik(qepik: int) -> Decimal:
    return (Decimal(qepik) / 100).quantize(QEPIK)


def money_json(amount: Decimal) -> str:
    """Money in JSON: a string with two decimals, e.g. ``"12.50"``."""
    return f"{amount.quantize(QEPIK):f}"


def money_human(amount: Decimal) -> str:
    """Money for people: ``1.234,50 AZN`` (decimal comma, dot for thousands)."""
    text = f"{amount.quantize(QEPIK):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " AZN"
