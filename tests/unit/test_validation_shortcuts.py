"""The shortcuts bulk intake takes before phonenumbers and email-validator give exactly the
libraries' verdicts: same accepted values, same normal form, same refusals.

``phone_verdict`` / ``email_verdict`` (shortcut, then library) are compared with
``…_by_library`` (library alone) on generated input: input shaped like the shortcuts'
common case (where they answer without parsing) and hostile variations of it (where
they must hand over to the library).
"""

from __future__ import annotations

import random
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from arayis_cli import validation
from arayis_cli.validation import (
    email_verdict,
    email_verdict_by_library,
    phone_verdict,
    phone_verdict_by_library,
)

# The memo is bypassed (``__wrapped__``): each call below computes its verdict.
phone_shortcut = phone_verdict.__wrapped__
email_shortcut = email_verdict.__wrapped__

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_az_prefix_agrees() -> None:
    """Every four-digit start of a national number (each with random endings): the
    shortcut's verdict is the library's, valid and invalid numbers alike."""
    rng = random.Random(21)
    valid = invalid = 0
    for prefix in range(1000, 10000):
        for _ in range(3):
            digits = f"+994{prefix}{rng.randrange(100000):05d}"
            assert validation._AZ_E164.fullmatch(digits)  # the shortcut answers it
            verdict = phone_shortcut(digits)
            assert verdict == phone_verdict_by_library(digits), digits
            valid += bool(verdict)
            invalid += verdict == ""
    assert valid > 1000 and invalid > 1000  # both verdicts were compared


@EXAMPLES
@given(national=st.from_regex(r"[0-9]{7,11}", fullmatch=True), plus=st.booleans())
@example(national="012345678", plus=True)  # a leading zero: the library's own path
@example(national="501234567", plus=True)
def test_phone_agrees(national: str, plus: bool) -> None:
    digits = ("+994" if plus else "994") + national
    assert phone_shortcut(digits) == phone_verdict_by_library(digits)


@EXAMPLES
@given(st.text(alphabet="+0123456789 -()x", max_size=20))
def test_phone_any_text_agrees(digits: str) -> None:
    assert phone_shortcut(digits) == phone_verdict_by_library(digits)


ATOM = string.ascii_letters + string.digits + "_+"
LABEL = string.ascii_lowercase + string.digits
TLDS = validation._COMMON_TLDS.split("|")


@st.composite
def plain_emails(draw: st.DrawFn) -> str:
    """Addresses of the shortcut's shape, up to its length limits."""
    words = draw(st.lists(st.text(ATOM, min_size=1, max_size=22), min_size=1, max_size=4))
    joins = draw(st.lists(st.sampled_from(".-"), min_size=len(words), max_size=len(words)))
    local = words[0] + "".join(j + w for j, w in zip(joins[1:], words[1:], strict=True))
    labels = draw(
        st.lists(
            st.lists(st.text(LABEL, min_size=1, max_size=32), min_size=1, max_size=3).map("-".join),
            min_size=1,
            max_size=3,
        )
    )
    return f"{local}@{'.'.join(labels)}.{draw(st.sampled_from(TLDS))}"


@EXAMPLES
@given(plain_emails())
@example("Leyla.Mammadova@mail.az")
@example("a" * 64 + "@example.az")
@example("u@" + "a" * 63 + ".az")
@example("x" * 64 + "@" + ".".join(["b" * 62] * 3) + ".com")
def test_plain_email_agrees(raw: str) -> None:
    assert email_shortcut(raw) == email_verdict_by_library(raw)


def test_plain_shape_is_taken_by_the_shortcut() -> None:
    """The agreement above is not vacuous: such addresses are answered by the shortcut."""
    assert validation._PLAIN_EMAIL.fullmatch("Leyla.Mammadova@mail.az")
    assert validation._PLAIN_EMAIL.fullmatch("u-1+x_y@a-b.c.com")
    # …and the corners it leaves to the library
    for raw in ("a" * 65 + "@mail.az", "u@" + "a" * 64 + ".az", "u@Mail.az", "u@x.test"):
        assert not validation._PLAIN_EMAIL.fullmatch(raw), raw


@st.composite
def mutated_emails(draw: st.DrawFn) -> str:
    """A plain address with characters inserted, replaced or removed: dots, hyphens, case,
    other TLDs, special-use names, Punycode-like labels, non-ASCII."""
    raw = list(draw(plain_emails()))
    noise = st.sampled_from(
        [*".-@_+AZaz09 \"'()[],;:<>é𝔞ə\u200b", "xn--", "--", "..", ".test", ".local", ".123"]
    )
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(("insert", "replace", "delete")))
        if kind == "insert":
            raw.insert(where, draw(noise))
        elif raw and where < len(raw):
            if kind == "replace":
                raw[where] = draw(noise)
            else:
                del raw[where]
    return "".join(raw)


@EXAMPLES
@given(mutated_emails())
@example("a..b@mail.az")
@example("a.@mail.az")
@example("u@ab--cd.az")
@example("u@xn--d1acufc.az")
@example("u@mail.test.az")
@example("u@mail.123")
def test_mutated_email_agrees(raw: str) -> None:
    assert email_shortcut(raw) == email_verdict_by_library(raw)


@EXAMPLES
@given(st.text(max_size=40))
def test_any_text_email_agrees(raw: str) -> None:
    assert email_shortcut(raw) == email_verdict_by_library(raw)
