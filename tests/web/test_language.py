"""One translation path: the pages, the verdict reasons and the checklist come from the
gettext catalogue, and each request gets the language it asks for (``?lang=`` or
``Accept-Language``) without switching the language of anyone else."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from arayis_cli import i18n
from arayis_cli.certificate.signing import token_in_pdf
from arayis_cli.services.verification import REASON_TEXT, REASONS, reason_text
from arayis_cli.web.pages import TEXTS, language_of, texts
from tests.helpers import Cli
from tests.helpers.certificates import issue as _issue
from tests.helpers.web import client as _client


def test_language_of_a_request() -> None:
    assert language_of(None, None) == "az"
    assert language_of("en", "az") == "en"  # the query wins
    assert language_of("az", "en-GB,en;q=0.9") == "az"
    assert language_of("xx", "en-GB,en;q=0.9") == "en"  # an unknown ?lang= is ignored
    assert language_of(None, "az-AZ,en;q=0.5") == "az"
    assert language_of(None, "fr-FR, en;q=0.3, az;q=0.8") == "az"  # by q-value
    assert language_of(None, "en;q=0, az;q=0.1") == "az"
    assert language_of(None, "fr, de;q=0.5") == "az"
    assert language_of(None, "en;q=bad") == "az"
    assert language_of(None, "en" + ",x" * 10_000) == "en"  # bounded work


def test_every_text_and_reason_is_in_the_catalogue() -> None:
    """A missing translation would show English on an Azerbaijani page: each text has its
    own Azerbaijani text, and adding a reason is one line (msgid) plus its translation."""
    az, en = texts("az"), texts("en")
    assert set(az) == set(en) == set(TEXTS)
    assert [key for key in TEXTS if az[key] == en[key]] == []
    assert set(REASON_TEXT) == set(REASONS)
    for reason in REASONS:
        assert reason_text(reason, "en") == REASON_TEXT[reason]
        assert reason_text(reason, "az") != REASON_TEXT[reason], reason
    assert reason_text("made up", "az") == "made up"


def test_pages_answer_in_the_language_asked_for(loaded: Cli) -> None:
    out = _issue(loaded)
    token = token_in_pdf(Path(out["path"]).read_bytes())
    before = i18n.language()
    with _client(loaded, burst=1000, rate_per_minute=60_000) as client:
        english = client.get(f"/verify/{token}", headers={"accept-language": "en-US,en;q=0.9"})
        assert '<html lang="en">' in english.text and "The certificate is valid" in english.text
        plain = client.get(f"/verify/{token}")
        assert '<html lang="az">' in plain.text and "Arayış etibarlıdır" in plain.text
        asked = client.get(f"/verify/{token}?lang=en", headers={"accept-language": "az"})
        assert "The certificate is valid" in asked.text
        form = client.get("/verify", headers={"accept-language": "en"})
        assert "Check a certificate" in form.text
        # Refused by the guard before the app (a too large body): the same language rule.
        big = client.post("/verify", content=b"x" * 3_000_000, headers={"accept-language": "en"})
        assert big.status_code == 413 and "The file is too large" in big.text

        def page(lang: str) -> str:
            return client.get(f"/verify/{token}", headers={"accept-language": lang}).text

        # Many requests in both languages at once: each gets its own.
        langs = ["en", "az"] * 20
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(page, langs))
    for lang, html in zip(langs, pages, strict=True):
        assert f'<html lang="{lang}">' in html
        assert ("The certificate is valid" in html) is (lang == "en")
        assert ("Arayış etibarlıdır" in html) is (lang == "az")
    assert i18n.language() == before  # nobody switched the process's language


def test_the_checklist_speaks_the_operators_language(loaded: Cli) -> None:
    """JSON labels stay Azerbaijani (what the subscriber sees); a refusal and the table
    speak the operator's language, through the same catalogue entries."""
    from tests.helpers import new_app

    app_id = new_app(loaded, docs=False)
    review = loaded.json("review", app_id)
    labels = {item["code"]: item["label"] for item in review["checklist"]["items"]}
    assert labels["id-card"] == "Şəxsiyyət vəsiqəsinin surəti (id-card)"
    refused = loaded.json("approve", app_id, code=5)
    assert "missing: identity card" in refused["message"]
    azerbaijani = loaded("--lang", "az", "approve", app_id, code=5)
    assert "yoxdur: şəxsiyyət vəsiqəsi" in azerbaijani.stderr


def test_what_stops_a_print_speaks_the_operators_language(loaded: Cli) -> None:
    """``show``'s print_blocker was Azerbaijani text written in the code; now a message of
    the catalogue like every other one the operator reads."""
    from tests.helpers import CODE_DEBT, DEBT_FIN, app_in

    app_id = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    english = loaded.json("show", app_id)["print_blocker"]
    assert english["code"] == "debt" and english["message"].startswith("There is a debt of ")
    azerbaijani = loaded.json("--lang", "az", "show", app_id)
    assert azerbaijani["print_blocker"]["message"].startswith("Borc var: 23,80 AZN")
