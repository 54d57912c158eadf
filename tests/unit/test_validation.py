"""Formats: FIN, phone, email, abonent code, amounts, dates, masking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from arayis_cli.errors import InvalidInput
from arayis_cli.money import from_qepik, money_human, money_json, parse_amount, to_qepik
from arayis_cli.validation import (
    CLOCK_SKEW,
    ID_MAX,
    clean_text,
    mask_email,
    mask_fin,
    mask_phone,
    parse_abonent_code,
    parse_count,
    parse_date,
    parse_datetime,
    parse_email,
    parse_fin,
    parse_id,
    parse_past_date,
    parse_past_datetime,
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
    for bad in [
        "not-an-email",
        "a@",
        "@b.az",
        "a b@c.az",
        "a@b",
        "ä@example.az",
        "leylə@example.az",
    ]:
        with pytest.raises(InvalidInput):
            parse_email(bad)


def test_abonent_code_keeps_leading_zeros() -> None:
    assert parse_abonent_code("00-1234 5678", min_len=6, max_len=12) == "0012345678"
    for bad in ["12345", "1234567890123", "12AB5678", "١٢٣٤٥٦٧"]:
        with pytest.raises(InvalidInput):
            parse_abonent_code(bad, min_len=6, max_len=12)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("12.50", "12.50"),
        ("12,5", "12.50"),
        ("1200", "1200.00"),
        ("0.01", "0.01"),
        ("007,05", "7.05"),
        ("999999999999.99", "999999999999.99"),
    ],
)
def test_amounts(raw: str, expected: str) -> None:
    assert money_json(parse_amount(raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "12.505",
        "abc",
        "NaN",
        "Infinity",
        "-1",
        "+1",
        "1e13",
        "1e3",
        "1E3",
        "1_000",
        "١٢",
        "١٢.٥٠",
        "12.50 AZN",
        "7 AZN",
        "1 200",
        "1.000,50",
        "1,000",
        "1.000.000",
        ".5",
        "5.",
        "1.2.3",
        "0x1F",
        "",
        "1000000000000",
        " 7 ",  # nothing around the digits either: never trimmed
        " 23.80",
        "23.80 ",
        "\t23.80",
        "23.80\n",
        "\u00a023.80",
        "   ",
    ],
)
def test_amount_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(raw)


def test_negative_only_where_allowed() -> None:
    assert parse_amount("-5.00", allow_negative=True) == Decimal("-5.00")
    assert money_json(parse_amount("-0", allow_negative=True)) == "0.00"
    for bad in ["--5", "- 5", "−5", "+5", "-1e1", "-"]:
        with pytest.raises(InvalidInput):
            parse_amount(bad, allow_negative=True)


def test_amounts_from_code_are_checked_too() -> None:
    assert parse_amount(Decimal("12.5")) == Decimal("12.50")
    for bad in [Decimal("NaN"), Decimal("0.001"), Decimal("1e12"), -1]:
        with pytest.raises(InvalidInput):
            parse_amount(bad)


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


def test_past_dates() -> None:
    today = date(2026, 11, 25)
    assert parse_past_date("25.11.2026", "date", today=today) == today
    assert parse_past_date("2000-01-01", "date", today=today) == date(2000, 1, 1)
    for bad in ["2026-11-26", "1999-12-31", "0001-01-01", "9999-12-31"]:
        with pytest.raises(InvalidInput):
            parse_past_date(bad, "date", today=today)


def test_past_datetimes_allow_only_clock_skew() -> None:
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 10:00 in Baku
    assert parse_past_datetime("2026-11-25T09:59:59", "t", now=now).isoformat() == (
        "2026-11-25T09:59:59+04:00"
    )
    # Within the skew: taken as now, so nothing decided later can precede it.
    skewed = parse_past_datetime(now + CLOCK_SKEW, "t", now=now)
    assert skewed == now and skewed.utcoffset() == timedelta(hours=4)
    for bad in [now + CLOCK_SKEW + timedelta(seconds=1), "2027-01-01", "1999-12-31T23:59:59"]:
        with pytest.raises(InvalidInput):
            parse_past_datetime(bad, "t", now=now)


@pytest.mark.parametrize("raw,expected", [("1", 1), (" 42 ", 42), (str(ID_MAX), ID_MAX)])
def test_ids(raw: str, expected: int) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "raw", ["0", "-1", "+1", str(ID_MAX + 1), "1_0", "١", "1.0", "", "9" * 5000, "0x10"]
)
def test_ids_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_id(raw)


def test_counts() -> None:
    assert parse_count("0", "n") == 0 and parse_count(str(ID_MAX), "n") == ID_MAX
    for bad in ["-1", str(ID_MAX + 1), "x", "٣"]:
        with pytest.raises(InvalidInput):
            parse_count(bad, "n")


def test_text_refuses_controls_and_bidi() -> None:
    assert clean_text("  Nəsimi rayonu ", "address") == "Nəsimi rayonu"
    for bad in ["a\x00b", "a\u202eb", "line\nbreak", "   ", "x" * 501]:
        with pytest.raises(InvalidInput):
            clean_text(bad, "address")


def test_masks() -> None:
    assert mask_fin("5ZT8KPA") == "5ZT***A"
    assert mask_phone("+994501234567") == "+99450*****67"
    assert mask_email("leyla@example.az") == "l***@example.az"
