"""The certificate's QR encoder gives segno's very symbol (certificate/qr.py)."""

from __future__ import annotations

import random
import string

import pytest
import segno

from arayis_cli.certificate import qr
from tests.helpers.pdf import BASE

URL_CHARACTERS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=% "


def _segno(content: str) -> list[bytes]:
    return [bytes(row) for row in segno.make(content, error="m", micro=False, mask=0).matrix]


def _ours(content: str) -> list[bytes]:
    return [bytes(row) for row in qr.matrix(content)]


def test_random_byte_mode_content_of_every_length_gives_segnos_symbol() -> None:
    rnd = random.Random(24)
    # every length up to version 15 or so, then a sample up to the largest symbols
    lengths = [*range(1, 420), *rnd.sample(range(420, 2330), 25)]
    for n in lengths:
        content = "".join(rnd.choice(URL_CHARACTERS) for _ in range(n))
        assert _ours(content) == _segno(content), n


def test_verification_addresses_give_segnos_symbol() -> None:
    for n in range(50):
        url = BASE.verify_url.replace("000001", f"{n:06d}")
        assert _ours(url) == _segno(url)


@pytest.mark.parametrize(
    "content",
    [
        "0123456789",  # numeric mode
        "HTTPS://ARAYIS.AZ/VERIFY/AR-2026",  # alphanumeric mode
        "Bakı şəhəri",  # not ASCII
        "tab\there",  # not printable
        "",  # empty
    ],
)
def test_other_content_is_segnos_own(content: str) -> None:
    assert _ours(content) == _segno(content)


def test_too_much_content_is_refused_as_segno_refuses() -> None:
    with pytest.raises(segno.DataOverflowError):
        qr.matrix("a" * 3000)
