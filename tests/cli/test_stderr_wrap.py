"""Error lines at an 80-column terminal: wrapped at word boundaries by arayis (never cut
mid-word by the terminal), both languages; piped, each message stays one line."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

#: Refusals whose one line is longer than 80 columns in both languages.
CASES = [
    ["pay", "0011276516", "1e3"],  # the amount grammar
    ["print", "1"],  # not completed
    ["relabel", "1", "passport", "--reason", "x"],
    ["detach", "abc", "--reason", "x"],  # a usage error ("Error: Invalid value …")
    ["list", "--status", "bogus"],
]


def _run(args: list[str], lang: str, home: Path, *, terminal: bool) -> str:
    """arayis with stderr on a pseudo-terminal (or a pipe); what stderr showed."""
    env = {
        **os.environ,
        "ARAYIS_HOME": str(home),
        "ARAYIS_LANG": lang,
        "COLUMNS": "80",
        "ARAYIS_NOW": "2026-11-25T10:00:00+04:00",
    }
    env.pop("ARAYIS_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "arayis_cli", *args]
    if not terminal:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO, timeout=60)
        return done.stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=follower, cwd=REPO)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed (Linux: EIO)
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one new application (№1), made once."""
    home = tmp_path_factory.mktemp("wrap")
    env = {**os.environ, "ARAYIS_HOME": str(home), "ARAYIS_NOW": "2026-11-25T10:00:00+04:00"}
    env.pop("ARAYIS_DATABASE_URL", None)
    sample = REPO / "sample_data"
    for args in (
        ["abonent", "import", str(sample / "abonents.csv")],
        [
            *("submit", "--abonent", "0011276516", "--fin", "6HV4DVC"),
            *("--phone", "0501234567", "--email", "a@example.az"),
        ],
    ):
        subprocess.run(
            [sys.executable, "-m", "arayis_cli", *args], env=env, check=True, capture_output=True
        )
    return home


@pytest.mark.parametrize("lang", ["az", "en"])
@pytest.mark.parametrize("args", CASES, ids=[" ".join(a[:1]) + str(i) for i, a in enumerate(CASES)])
def test_long_error_lines_wrap_at_word_boundaries(home: Path, lang: str, args: list[str]) -> None:
    piped = _run(args, lang, home, terminal=False)
    shown = _run(args, lang, home, terminal=True)
    last = piped.strip().splitlines()[-1]
    assert len(last) > 80, f"not a long line: {last!r}"  # the case tests something
    lines = shown.strip().splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    # The same words, none cut: the terminal's text is the piped text re-flowed.
    assert " ".join(shown.split()) == " ".join(piped.split())
    # Continuation lines are indented under the message.
    wrapped = lines[-2:] if lines[-1].startswith(" ") else []
    assert wrapped, shown


def test_piped_error_stays_one_line(home: Path) -> None:
    err = _run(["pay", "0011276516", "1e3"], "az", home, terminal=False)
    assert len(err.splitlines()) == 1 and len(err) > 80
