"""A clerk's day at an 80-column terminal, in both languages: ``list``, ``show``, ``outbox
list``, ``stats`` and ``audit`` never print a line wider than the terminal, never cut a
date or a time, and show no raw code and no ISO time (JSON keeps the codes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import DOCS, SAMPLE, Cli, app_in, new_app

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE = re.compile(r"\d{2}\.\d{2}\.\d{4}")
#: A date or time cut by a narrow column: "16.…", "09:…", "16.11.…", a date without its year.
CUT = re.compile(r"\d[.:]…|\d…|\b\d{2}\.\d{2}(?!\.\d{4})(?=\s|$)")
#: Codes that are never shown to people as they are (their labels are).
CODES = [
    "id-card",
    "power-of-attorney",
    "egov",
    "azersu",
    "in_progress",
    "approved_no_debt",
    "approved_debt",
    "email_retry",
    "balance=",
    "debt=",
    "kind=",
    "sha256=",
    "(off)",
    "(on)",
]
#: In Azerbaijani, the English words of the codes are raw too.
CODES_AZ = [
    *CODES,
    *("pending", "sending", "failed", "office", "ownership", "received", "valid"),
    *("detach", "relabel", "other"),
]


@pytest.fixture
def day(loaded: Cli, tmp_path: Path) -> Cli:
    """Applications in every state, an approval past a failed checklist, a printed and a
    revoked certificate, a verification, an email retried, audited reads, a policy change."""
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    done = app_in(loaded, "completed")
    printed = loaded.json("print", done, "--out", str(tmp_path / "a.pdf"))
    loaded("verify", str(tmp_path / "a.pdf"))
    loaded("revoke", printed["certificate_number"], "--reason", "Səhv çap olunub")
    short = new_app(loaded, code="0043569264", docs=False)
    loaded("attach", short, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    # A document filed under the wrong kind, corrected, then taken off.
    wrong = loaded.json("attach", short, DOCS / "bildiris_faktura.png", "--kind", "other")
    doc = str(wrong["documents"][-1]["id"])
    loaded("relabel", doc, "power-of-attorney", "--reason", "Etibarnamədir, növ səhv seçilib")
    loaded("detach", doc, "--reason", "Bu abonentə aid deyil, səhvən yüklənib")
    loaded("review", short)
    loaded("approve", short, "--override", "Sahibi şəxsən gəlib, sənəd ofisdədir")
    app_in(loaded, "rejected", code="0003383936")
    loaded("show", done, "--show-pii")
    loaded("policy", "set", "four-eyes", "on")
    loaded("policy", "set", "four-eyes", "off")
    loaded.done, loaded.short = done, short  # type: ignore[attr-defined]
    return loaded


def screens(day: Cli) -> list[list[str]]:
    done, short = day.done, day.short  # type: ignore[attr-defined]
    return [
        ["list", "--all"],
        ["list", "--overdue"],
        ["show", done],
        ["show", short],
        ["show", done, "--as-subscriber"],
        ["outbox", "list"],
        ["outbox", "show", "1"],
        ["stats"],
        ["audit"],
        ["policy", "show"],
    ]


@pytest.mark.parametrize("lang", ["az", "en"])
def test_a_clerks_screens_fit_80_columns(day: Cli, lang: str) -> None:
    problems = []
    for args in screens(day):
        out = day("--lang", lang, *args, env={"COLUMNS": "80"}).stdout
        assert out.strip(), args
        for line in out.splitlines():
            if len(line) > 80:
                problems.append((args, "wider than 80", line))
            if CUT.search(line) and "SHA-256" not in line:
                problems.append((args, "date or time cut", line))
            if ISO_TIME.search(line):
                problems.append((args, "ISO time", line))
            body = args[:2] == ["outbox", "show"] or "--as-subscriber" in args
            for code in CODES_AZ if lang == "az" else CODES:
                # The emails' own text is shown as sent (Azerbaijani, the subscriber's).
                if code in line and not (body and code in ("received",)):
                    problems.append((args, f"raw code {code}", line))
    assert problems == [], "\n".join(map(repr, problems))


def test_dates_and_times_are_whole(day: Cli) -> None:
    out = day("list", "--all", env={"COLUMNS": "80"}).stdout
    assert re.search(DATE.pattern + r" \d{2}:\d{2}", out)  # dd.mm.yyyy HH:MM, whole
    shown = day("--lang", "az", "show", day.done, env={"COLUMNS": "80"}).stdout  # type: ignore[attr-defined]
    assert "Balans: " in shown and "balance=" not in shown
    assert "Səhv çap olunub" in shown  # the revocation reason, wrapped, not cut


def test_history_details_are_labelled_phrases(day: Cli) -> None:
    app = day.short  # type: ignore[attr-defined]
    shown = day("show", app, "--lang", "az", env={"COLUMNS": "200"}).stdout
    assert "Yoxlama keçilməyib: FİN qeydiyyatdakı" in shown
    assert "yoxdur: mülkiyyət sənədi" in shown and "Növ: şəxsiyyət vəsiqəsi" in shown
    # 0043569264 paid 5,00 AZN more than it owed: the sign alone would puzzle a clerk.
    assert "Balans: -5,00 AZN (artıq ödəniş)" in shown
    assert "sənəd ayrıldı" in shown and "Səbəb: Bu abonentə aid deyil" in shown
    assert "Növ: digər sənəd → etibarnamə" in shown
    en = day("--lang", "en", "show", app, env={"COLUMNS": "200"}).stdout
    assert "Kind: identity card" in en and "missing: ownership document" in en
    assert "document detached" in en and "Kind: other document → power of attorney" in en


def test_json_keeps_the_codes(day: Cli) -> None:
    data = day.json("show", day.short)  # type: ignore[attr-defined]
    assert data["channel"] == "egov" and data["documents"][0]["kind"] == "id-card"
    assert {e["status"] for e in data["emails"]} <= {"pending", "sending", "sent", "failed"}
