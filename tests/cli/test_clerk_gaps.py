"""A clerk's everyday gaps (issue 22): --lang anywhere, list by day words, by FIN, owner,
external id or free search, a default limit for people, the overdue legend, attach with a
kind per file, and letters the certificate font lacks refused when the abonent is stored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import CODE, DOCS, OWNER_FIN, SAMPLE, Cli, new_app, submit_args


def test_lang_anywhere_on_the_line(loaded: Cli) -> None:
    az = loaded("list", "--lang", "az", "--bogus", code=2)
    assert "Belə parametr yoxdur" in az.stderr
    en = loaded("list", "--bogus", "--lang=en", code=2)
    assert "No such option" in en.stderr
    new_app(loaded)
    assert "Müraciətlər" in loaded("list", "--lang", "az").stdout
    assert "Applications" in loaded("list", "--lang", "en").stdout


def test_list_since_today_and_yesterday(loaded: Cli) -> None:
    new_app(loaded)  # registered "now": 25.11.2026
    assert len(loaded.json("list", "--since", "today")) == 1
    assert len(loaded.json("list", "--since", "bugün")) == 1
    assert len(loaded.json("list", "--until", "yesterday")) == 0
    loaded.now("2026-11-26T09:00:00+04:00")
    assert len(loaded.json("list", "--since", "today")) == 0
    assert len(loaded.json("list", "--since", "dünən")) == 1


def test_list_finds_by_fin_owner_external_id_and_search(loaded: Cli) -> None:
    app_id = int(loaded.json(*submit_args(external_id="EGOV-777"))["id"])
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    owner = loaded.json("abonent", "show", CODE)["owner_name"]
    assert [a["id"] for a in loaded.json("list", "--fin", OWNER_FIN)] == [app_id]
    assert [a["id"] for a in loaded.json("list", "--external-id", "EGOV-777")] == [app_id]
    assert app_id in [a["id"] for a in loaded.json("list", "--owner", owner.split()[0])]
    for term in (CODE, OWNER_FIN.lower(), "EGOV-777", owner.split()[1]):
        assert app_id in [a["id"] for a in loaded.json("list", "--search", term)], term
    assert loaded.json("list", "--search", "nobody-like-this") == []


def test_list_for_people_has_a_default_limit_and_says_how_many_more(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    from arayis_cli.cli import intake

    rows = loaded.json("list")
    assert len(rows) == 20  # JSON is never limited by default
    old = intake.PEOPLE_LIMIT
    intake.PEOPLE_LIMIT = 5
    try:
        out = loaded("list", env={"COLUMNS": "100"}).stdout
        assert "15 more applications not shown: --offset 5" in out and "--all" in out
        every = loaded("list", "--all", env={"COLUMNS": "100"}).stdout
        assert "more applications" not in every and every.count("\n") > out.count("\n")
        csv = loaded("list", "--format", "csv").stdout
        assert csv.count("\n") == 21  # header and every row
    finally:
        intake.PEOPLE_LIMIT = old
    loaded("list", "--all", "--limit", "3", code=2)


def test_overdue_mark_has_a_legend(loaded: Cli) -> None:
    new_app(loaded)
    loaded.now("2026-12-10T09:00:00+04:00")
    out = loaded("list", env={"COLUMNS": "80"}).stdout
    assert " !" in out and "! past its due date (overdue)" in out
    az = loaded("list", "--lang", "az", env={"COLUMNS": "80"}).stdout
    assert "! son tarixi keçib (gecikir)" in az


def test_attach_gives_each_file_its_kind(loaded: Cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    app_id = new_app(loaded, docs=False)
    data = loaded.json(
        "attach",
        app_id,
        f"id-card={DOCS / 'sexsiyyet_vesiqesi.jpg'}",
        f"ownership={DOCS / 'mulkiyyet_cixarisi.pdf'}",
    )
    assert sorted(d["kind"] for d in data["documents"]) == ["id-card", "ownership"]
    other = new_app(loaded, code="0003383936", docs=False)
    mixed = loaded.json(
        "attach",
        other,
        "--kind",
        "other",
        str(DOCS / "sexsiyyet_vesiqesi.jpg"),
        f"ownership={DOCS / 'mulkiyyet_cixarisi.pdf'}",
    )
    assert sorted(d["kind"] for d in mixed["documents"]) == ["other", "ownership"]
    third = new_app(loaded, code="0043569264", docs=False)
    with unchanged():
        refused = loaded("attach", third, str(DOCS / "sexsiyyet_vesiqesi.jpg"), code=2)
        assert "KIND=PATH" in refused.stderr
        loaded("attach", third, f"passport={DOCS / 'sexsiyyet_vesiqesi.jpg'}", code=2)


def test_letters_the_certificate_font_lacks_are_refused_when_stored(
    cli: Cli, tmp_path: Path, unchanged
) -> None:  # type: ignore[no-untyped-def]
    args = ["abonent", "add", "0099999991", "--group", "I", "--owner-fin", "1AB2CD3"]
    with unchanged():
        bad = cli(*args, "--owner-name", "Əli 😀 Vəliyev", "--address", "Bakı", code=2)
        assert "U+1F600" in bad.stderr and "owner name" in bad.stderr
        err = json.loads(
            cli(
                *args, "--owner-name", "Əli Vəliyev", "--address", "Bakı ☃", "--json", code=2
            ).stderr
        )
        assert err["error"] == "invalid_input" and err["characters"] == ["U+2603"]
    cli(*args, "--owner-name", "Əli Vəliyev Şükür oğlu", "--address", "Bakı, Gənclik")
    rows = tmp_path / "abonents.csv"
    head = (SAMPLE / "abonents.csv").read_text(encoding="utf-8").splitlines()[0]
    rows.write_text(
        f"{head}\n0099999992,I,Ad 😀 Soyad,1AB2CD4,Bakı\n0099999993,I,Ad Soyad,1AB2CD5,Bakı\n",
        encoding="utf-8",
    )
    report = cli.json("abonent", "import", rows, code=2)
    assert report["created"] == 1
    assert [(f["row"], f["error"]) for f in report["failed"]] == [(1, "invalid_input")]
    assert "U+1F600" in report["failed"][0]["message"]


def test_verify_says_why_in_words_without_the_code(loaded: Cli, tmp_path: Path) -> None:
    from tests.helpers import app_in

    app_id = app_in(loaded, "completed")
    number = loaded.json("print", app_id, "--out", str(tmp_path / "c.pdf"))["certificate_number"]
    loaded("revoke", number, "--reason", "Səhv")
    out = loaded("--lang", "az", "verify", str(tmp_path / "c.pdf"), code=6).stdout
    assert "arayış ləğv edilib" in out and "(revoked)" not in out
    assert loaded.json("verify", str(tmp_path / "c.pdf"), code=6)["reason"] == "revoked"
