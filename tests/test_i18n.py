"""Messages through one catalogue (docs/developing.md: adding a message): Azerbaijani by default,
English on request, machine interface unchanged, and a catalogue that cannot drift."""

from __future__ import annotations

import gettext
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CODE, CODE_DEBT, DEBT_FIN, DOCS, REPO, Cli, submit_args

LOCALE = REPO / "arayis_cli" / "locale"
PO = LOCALE / "az" / "LC_MESSAGES" / "arayis.po"
MO = LOCALE / "az" / "LC_MESSAGES" / "arayis.mo"
#: The documented extraction (README: Translations), run as it is written there.
EXTRACT = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "N_",
    "-k",
    "label",
    "-k",
    "az",
    "--no-location",
    "--sort-output",
    "--omit-header",
    "--project",
    "arayis",
]
#: Words that betray an English sentence; none is an Azerbaijani word.
ENGLISH = re.compile(
    r"\b(the|must|not|is|are|cannot|found|application|invalid|missing|error|usage|try|"
    r"option|such|value|whole|number|phone|email address|amount|debt|pay|first|again|"
    r"queue|help|from|got)\b",
    re.IGNORECASE,
)


@pytest.fixture(autouse=True)
def default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of the suite reads English (conftest); here the default is under test."""
    monkeypatch.delenv("ARAYIS_LANG", raising=False)


def _catalog() -> Any:
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        return read_po(f, locale="az")


def _ids(messages: Any) -> set[Any]:
    return {m.id for m in messages if m.id}


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}", text))


# -- the catalogue ------------------------------------------------------------------------


def test_every_message_has_a_careful_azerbaijani_translation() -> None:
    """No missing, fuzzy or obsolete entry; the same placeholders on both sides."""
    catalog = _catalog()
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    assert len(_ids(catalog)) > 250
    assert not catalog.obsolete, sorted(catalog.obsolete)
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and len(strings) == (2 if len(ids) == 2 else 1), message.id
        for text in strings:
            assert _placeholders(text) == _placeholders(ids[-1]), (message.id, text)


def test_catalogue_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    """The README's extraction finds exactly the msgids the .po translates."""
    from babel.messages.pofile import read_po

    pot = tmp_path / "arayis.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(pot), "arayis_cli"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        extracted = _ids(read_po(f))
    translated = _ids(_catalog())
    assert extracted - translated == set(), "run the README's pybabel update and translate"
    assert translated - extracted == set(), "run the README's pybabel update (obsolete ids)"


def _meaning(translations: gettext.GNUTranslations) -> dict[str, Any]:
    """What a compiled catalogue says, without what the compiling tool writes of itself
    (``Generated-By``, creation dates): the messages and plural forms, the language and
    the charset."""
    catalog = dict(translations._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)  # the header: compared below by the fields that carry meaning
    info = translations.info()
    return {
        "messages": catalog,
        "plural-forms": info.get("plural-forms"),
        "language": info.get("language"),
        "charset": translations.charset(),
        "plurals": [translations.ngettext("a", "b", n) for n in range(4)],
    }


def test_shipped_mo_is_compiled_from_the_po() -> None:
    """The shipped .mo says what the .po says. Compared by meaning, not bytes: a new Babel
    release writes its own version into the header (Babel 2.19 turned a byte comparison red)."""
    from babel.messages.mofile import write_mo

    fresh = io.BytesIO()
    write_mo(fresh, _catalog())
    fresh.seek(0)
    with MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    assert _meaning(shipped) == _meaning(gettext.GNUTranslations(fresh)), "pybabel compile"


def test_catalogue_comparison_ignores_the_tool_and_sees_a_message() -> None:
    """The comparison above can fail: a changed message is seen, a tool's header is not."""
    from babel.messages.mofile import write_mo

    def compiled(change: Any) -> gettext.GNUTranslations:
        catalog = _catalog()
        change(catalog)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)

    base = _meaning(compiled(lambda c: None))

    def new_tool(c: Any) -> None:
        c.version = "9.9"
        c.fuzzy = False

    def tool_header(c: Any) -> None:
        c.mime_headers = [*c.mime_headers, ("Generated-By", "Babel 99.0")]

    assert _meaning(compiled(new_tool)) == base
    assert _meaning(compiled(tool_header)) == base

    def reworded(c: Any) -> None:
        message = next(m for m in c if m.id and isinstance(m.id, str))
        message.string = message.string + " (dəyişdi)"

    assert _meaning(compiled(reworded)) != base


def test_plural_forms_and_languages() -> None:
    from arayis_cli import i18n

    with i18n.speaking("az"):
        assert i18n.ngettext("Stored {n} document.", "Stored {n} documents.", 3).format(n=3) == (
            "3 sənəd saxlanıldı."
        )
        assert i18n.ngettext("Stored {n} document.", "Stored {n} documents.", 1).format(n=1) == (
            "1 sənəd saxlanıldı."
        )
    with i18n.speaking("en"):
        assert i18n.ngettext("Stored {n} document.", "Stored {n} documents.", 3) == (
            "Stored {n} documents."
        )
        assert i18n.az("payment") == "ödəniş"
    assert i18n.language() == i18n.language_setting()  # nothing was left set


# -- the CLI in Azerbaijani and in English -------------------------------------------------


def _new(cli: Cli, code: str = CODE, fin: str | None = None) -> str:
    args = submit_args(code=code, fin=fin) if fin else submit_args(code=code)
    app_id = str(cli.json(*args)["id"])
    cli("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    cli("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    return app_id


def _refusals(cli: Cli, env: dict[str, str], tmp_path: Path) -> list[tuple[str, int, str]]:
    """Many of the CLI's refusals, each as (what, exit code, stderr)."""
    fresh = _new(cli)
    owing = _new(cli, code=CODE_DEBT, fin=DEBT_FIN)
    cli("review", owing)
    cli("approve", owing)
    cases: list[tuple[str, list[str], int]] = [
        ("bad FIN", submit_args(fin="12"), 2),
        ("bad phone", [*submit_args()[:6], "12", *submit_args()[7:]], 2),
        ("extra argument", ["list", "a", "b"], 2),
        ("bad email", [*submit_args()[:7], "--email", "not-an-email"], 2),
        ("bad amount", ["pay", CODE, "12.345"], 2),
        ("negative amount", ["pay", CODE, "--", "-5"], 2),
        ("unknown application", ["show", "999"], 4),
        ("conflict", ["approve", fresh], 5),
        ("print with debt", ["print", owing, "--out", str(tmp_path / "x.pdf")], 3),
        ("unknown abonent", ["abonent", "show", "9999999"], 4),
        ("bad id", ["show", "abc"], 2),
        ("bad option", ["list", "--bogus"], 2),
        ("missing option", ["reject", fresh], 2),
        ("missing argument", ["pay", CODE], 2),
        ("unknown command", ["frobnicate"], 2),
        ("empty reason", ["reject", fresh, "--reason", " "], 2),
        ("bad date", ["list", "--since", "last week"], 2),
    ]
    out = []
    for what, args, code in cases:
        result = cli(*args, code=code, env=env)
        assert result.stderr.strip(), what
        out.append((what, code, result.stderr))
    return out


def test_refusals_speak_azerbaijani_by_default(loaded: Cli, tmp_path: Path) -> None:
    for what, _code, stderr in _refusals(loaded, {}, tmp_path):
        # Option names, values and codes stay as typed; the words around them do not.
        words = re.sub(r"(?m)^İstifadə: .*$", "İstifadə:", stderr)  # the command's own names
        words = re.sub(r"'[^']*'|--[\w-]+|\{\w+\}|[A-Z]{3,}|\S+\.pdf", " ", words)
        words = words.replace("arayis", "").replace("db check", "")
        assert not ENGLISH.search(words), f"{what}: {stderr}"


def test_refusals_speak_english_on_request(loaded: Cli, tmp_path: Path) -> None:
    english = {what: err for what, _code, err in _refusals(loaded, {"ARAYIS_LANG": "en"}, tmp_path)}
    assert "has a debt of 23,80 AZN" in english["print with debt"]
    assert "application 999 not found" in english["unknown application"]
    assert "No such option: --bogus" in english["bad option"]
    assert "Missing option '--reason'" in english["missing option"]


def test_debt_warning_in_azerbaijani(loaded: Cli, tmp_path: Path) -> None:
    """The issue's example: the warning the service is built around."""
    app_id = _new(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    loaded("review", app_id)
    loaded("approve", app_id)
    result = loaded("print", app_id, "--out", tmp_path / "x.pdf", code=3)
    assert result.stderr == (
        f"arayis: müraciət №{app_id}: {CODE_DEBT} abonentinin 23,80 AZN borcu var; "
        "əvvəlcə borc ödənilməli, sonra yenidən çap edin\n"
    )


def test_machine_interface_does_not_change_with_the_language(loaded: Cli) -> None:
    app_id = _new(loaded)
    az = loaded.json("show", "999", code=4)
    en = loaded.json("show", "999", code=4, env={"ARAYIS_LANG": "en"})
    assert az.keys() == en.keys() and az["error"] == en["error"] == "not_found"
    assert az["message"] == "müraciət №999 tapılmadı"
    assert en["message"] == "application 999 not found"
    shown = {lang: loaded.json("show", app_id, env={"ARAYIS_LANG": lang}) for lang in ("az", "en")}
    # JSON message texts follow the language (the print blocker's); codes and keys do not.
    messages = {lang: shown[lang]["print_blocker"].pop("message") for lang in shown}
    assert messages["az"] != messages["en"]
    assert shown["az"] == shown["en"]
    assert shown["en"]["status"] == "new" and shown["en"]["status_label"] == "Yeni"


def test_lang_option_overrides_the_variable(cli: Cli) -> None:
    result = cli("--lang", "en", "show", "999", code=4, env={"ARAYIS_LANG": "az"})
    assert result.stderr == "arayis: application 999 not found\n"
    result = cli("show", "999", code=4, env={"ARAYIS_LANG": "az"})
    assert result.stderr == "arayis: müraciət №999 tapılmadı\n"
    assert "bunlardan birini verin: az, en" in cli("--lang", "fr", "list", code=2).stderr


def test_help_is_azerbaijani_and_english_on_request(cli: Cli) -> None:
    az = cli("--help").stdout
    assert "İstifadə: arayis" in az and "Parametrlər:" in az and "Əmrlər:" in az
    assert "Bu yardımı göstər və çıx." in az
    en = cli("--lang", "en", "--help").stdout
    assert "Usage: arayis" in en and "Options:" in en and "Show this message and exit." in en


def test_each_invocation_starts_in_the_configured_language(cli: Cli) -> None:
    """``--lang en`` speaks for one invocation only: a later bare ``--help`` (which ends
    before the ``--lang`` callback runs) or a later command is Azerbaijani again."""
    assert "Usage: arayis" in cli("--lang", "en", "--help").stdout
    assert "İstifadə: arayis" in cli("--help").stdout
    assert "Usage: arayis" in cli("--help", "--lang", "en").stdout  # --help is seen first
    cli("--lang", "en", "show", "999", code=4)
    assert "İstifadə: arayis" in cli("list", "--help").stdout
    assert cli("show", "999", code=4).stderr == "arayis: müraciət №999 tapılmadı\n"


def test_people_see_labels_json_keeps_codes(loaded: Cli) -> None:
    app_id = _new(loaded)
    wide = {"COLUMNS": "200"}  # table cells unwrapped
    people = loaded("show", app_id, env=wide).stdout
    assert "qeydə alındı" in people and "qəbul olundu" in people
    data = loaded.json("show", app_id)
    assert data["history"][0]["action"] == "submit"
    assert {m["kind"] for m in data["emails"]} == {"received"}
    balance = loaded("abonent", "show", CODE_DEBT, env=wide).stdout
    assert "hesablama" in balance and "charge" not in balance


def test_usage_error_json_is_stable_through_main(tmp_path: Path) -> None:
    """Through the console entry point (``main``): the usage error's JSON code stays."""
    env = {"ARAYIS_HOME": str(tmp_path), "PATH": ""}
    run = [sys.executable, "-m", "arayis_cli", "list", "--bogus", "--json"]
    az = subprocess.run(run, env=env, capture_output=True, text=True, cwd=REPO)
    en = subprocess.run(
        [*run[:3], "--lang", "en", *run[3:]], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert az.returncode == en.returncode == 2
    az_err, en_err = json.loads(az.stderr), json.loads(en.stderr)
    assert az_err["error"] == en_err["error"] == "usage"
    assert az_err["message"] == "Belə parametr yoxdur: --bogus"
    assert en_err["message"] == "No such option: --bogus"


# -- the one place that reaches into typer ----------------------------------------------


def test_clickwords_hooks_exist() -> None:
    """Fails loudly when typer moves what cli/clickwords.py relies on."""
    import typer
    import typer.core
    from typer._click import core, exceptions, formatting

    from arayis_cli.cli import clickwords
    from arayis_cli.i18n import gettext as ours

    assert typer.__version__.startswith("0.29."), "re-check cli/clickwords.py"
    clickwords.install()
    assert typer.core._ is ours  # type: ignore[attr-defined]
    assert getattr(exceptions.UsageError.show, "_arayis", False)
    for name in ("MissingParameter", "BadParameter", "NoSuchOption"):
        assert issubclass(getattr(exceptions, name), exceptions.UsageError)
    assert callable(exceptions._join_param_hints) and callable(
        exceptions._escape_control_characters
    )
    assert "prefix" in formatting.HelpFormatter.write_usage.__code__.co_varnames
    assert hasattr(core.Command, "get_help_option") and hasattr(core.Command, "get_help")
    # Click's English sentences that the patterns re-word: still the same sentences.
    source = Path(exceptions.__file__).read_text() + Path(core.__file__).read_text()
    source += (Path(typer.core.__file__).parent / "_click" / "parser.py").read_text()
    for sentence in (
        "No such option: ",
        "Missing {param_type}{param_hint}.",
        "Invalid value for {hint}: ",
        "Got unexpected extra argument(s) (",
        "requires {msg}",
        "Try '{command} {option}' for help.",
    ):
        assert sentence in source, sentence
