"""Formats: FIN, phone, email, abonent code, amounts, dates, masking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arayis_cli.errors import InvalidInput
from arayis_cli.money import from_qepik, money_human, money_json, parse_amount, to_qepik
from arayis_cli.validation import (
    clean_text,
    mask_email,
    mask_fin,
    mask_phone,
    parse_abonent_code,
    parse_date,
    parse_datetime,
    parse_email,
    parse_fin,
    parse_phone,
)


@pytest.mark.parametrize("raw,expected", [("5zt8kpa", "5ZT8KPA"), (" 0000000 ", "0000000")])
def test_fin_normalised(raw: str, expected: str) -> None:
    assert parse_fin(raw) == expected


@pytest.mark.parametrize(
    "raw", ["5ZT8KP", "5ZT8KPAA", "5ZTIKPA", "5ZTOKPA", "5ZT8KPƏ", "5ZT-KPA", ""]
)
def test_fin_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_fin(raw)


def test_fin_dotless_i_is_not_transliterated() -> None:
    with pytest.raises(InvalidInput):
        parse_fin("5ztıkpa")


@pytest.mark.parametrize(
    "raw",
    [
        "+994501234567",
        "994501234567",
        "0501234567",
        "501234567",
        "050 123 45 67",
        "(050) 123-45-67",
    ],
)
def test_mobile_forms_become_e164(raw: str) -> None:
    assert parse_phone(raw) == "+994501234567"


def test_baku_landline_accepted() -> None:
    assert parse_phone("012 498 03 35") == "+994124980335"


@pytest.mark.parametrize(
    "raw", ["12345", "+79161234567", "0521234567", "", "x" * 40, "+994 55 123"]
)
def test_phone_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_phone(raw)
    assert raw == "" or raw not in err.value.message


def test_email() -> None:
    assert parse_email(" Leyla@Example.az ") == "Leyla@example.az"
    for bad in ["not-an-email", "a@", "@b.az", "a b@c.az", "a@b"]:
        with pytest.raises(InvalidInput):
            parse_email(bad)


def test_abonent_code_keeps_leading_zeros() -> None:
    assert parse_abonent_code("00-1234 5678") == "0012345678"
    for bad in ["12345", "1234567890123", "12AB5678", "١٢٣٤٥٦٧"]:
        with pytest.raises(InvalidInput):
            parse_abonent_code(bad)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("12.50", "12.50"),
        ("12,5", "12.50"),
        ("1 200", "1200.00"),
        ("0.01", "0.01"),
        ("7 AZN", "7.00"),
    ],
)
def test_amounts(raw: str, expected: str) -> None:
    assert money_json(parse_amount(raw)) == expected


@pytest.mark.parametrize("raw", ["12.505", "abc", "NaN", "Infinity", "-1", "1e13", ""])
def test_amount_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(raw)


def test_negative_only_where_allowed() -> None:
    assert parse_amount("-5.00", allow_negative=True) == Decimal("-5.00")


def test_qepik_round_trip_is_exact() -> None:
    for text in ["0.10", "0.20", "0.30", "123456789.99"]:
        value = parse_amount(text)
        assert from_qepik(to_qepik(value)) == value
    assert sum(from_qepik(to_qepik(parse_amount("0.10"))) for _ in range(3)) == Decimal("0.30")


def test_money_for_people() -> None:
    assert money_human(Decimal("1234.5")) == "1.234,50 AZN"
    assert money_human(Decimal("0")) == "0,00 AZN"


def test_dates() -> None:
    assert parse_date("18.03.2026") == date(2026, 3, 18)
    assert parse_date("2026-03-18") == date(2026, 3, 18)
    for bad in ["2026-02-30", "18/03/2026", "yesterday", "31.02.2026"]:
        with pytest.raises(InvalidInput):
            parse_date(bad)


def test_naive_datetime_is_baku_time() -> None:
    value = parse_datetime("2026-03-18T14:00:00")
    assert value.isoformat() == "2026-03-18T14:00:00+04:00"
    assert parse_datetime("2026-03-18T10:00:00Z").isoformat() == "2026-03-18T14:00:00+04:00"


def test_text_refuses_controls_and_bidi() -> None:
    assert clean_text("  Nəsimi rayonu ", "address") == "Nəsimi rayonu"
    for bad in ["a\x00b", "a\u202eb", "line\nbreak", "   ", "x" * 501]:
        with pytest.raises(InvalidInput):
            clean_text(bad, "address")


def test_masks() -> None:
    assert mask_fin("5ZT8KPA") == "5ZT***A"
    assert mask_phone("+994501234567") == "+99450*****67"
    assert mask_email("leyla@example.az") == "l***@example.az"
