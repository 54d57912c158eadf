"""Settings (docs/settings.md): a nonsense ARAYIS_* value is exit 2 naming the
variable, on every command, and nothing is done; a changed value is seen at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import DOCS, Cli, app_in, new_app, submit_args


@pytest.mark.parametrize("value", ["-5", "0", "abc", "1.5", "1_0", "٣٠", "99999999"])
def test_bad_validity_refuses_print_and_issues_nothing(
    loaded: Cli, unchanged, tmp_path: Path, value: str
) -> None:
    app_id = app_in(loaded, "completed")
    env = {"ARAYIS_CERTIFICATE_VALIDITY_DAYS": value}
    with unchanged():
        result = loaded("print", app_id, code=2, env=env)
        err = json.loads(loaded("print", app_id, "--json", code=2, env=env).stderr)
    assert "ARAYIS_CERTIFICATE_VALIDITY_DAYS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert err["error"] == "invalid_input" and "ARAYIS_CERTIFICATE_VALIDITY_DAYS" in err["message"]
    assert list(tmp_path.rglob("*.pdf")) == []


def test_validity_setting_is_printed(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    out = loaded.json("print", app_id, env={"ARAYIS_CERTIFICATE_VALIDITY_DAYS": "10"})
    assert out["valid_until"] == "2026-12-05"


@pytest.mark.parametrize("value", ["-1", "0", "ten"])
def test_bad_document_limit(loaded: Cli, unchanged, value: str) -> None:
    app_id = new_app(loaded, docs=False)
    with unchanged():
        result = loaded(
            "attach",
            app_id,
            DOCS / "sexsiyyet_vesiqesi.jpg",
            "--kind",
            "id-card",
            code=2,
            env={"ARAYIS_MAX_DOCUMENT_BYTES": value},
        )
    assert "ARAYIS_MAX_DOCUMENT_BYTES" in result.stderr


def test_document_limit_is_applied(loaded: Cli, unchanged) -> None:
    app_id = new_app(loaded, docs=False)
    with unchanged():
        loaded(
            "attach",
            app_id,
            DOCS / "sexsiyyet_vesiqesi.jpg",
            "--kind",
            "id-card",
            code=2,
            env={"ARAYIS_MAX_DOCUMENT_BYTES": "100"},
        )


@pytest.mark.parametrize(
    "name,value",
    [
        ("ARAYIS_LANG", "xx"),
        ("ARAYIS_LANG", "ru"),
        ("ARAYIS_ABONENT_CODE_MIN", "13"),  # larger than the maximum, 12
        ("ARAYIS_ABONENT_CODE_MAX", "25"),  # the column holds 20
        ("ARAYIS_ABONENT_CODE_MIN", "-1"),
        ("ARAYIS_VERIFY_URL", "javascript:alert(1)"),
        ("ARAYIS_NOW", "tomorrow"),
        ("ARAYIS_DEBUG", "maybe"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["stats"], [*submit_args()]])
def test_nonsense_setting_refuses_any_command(
    loaded: Cli, unchanged, name: str, value: str, command: list[str]
) -> None:
    with unchanged():
        result = loaded(*command, code=2, env={name: value})
    assert result.stdout == "" and name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["az", "en", "EN", ""])
def test_known_languages(loaded: Cli, value: str) -> None:
    loaded("list", env={"ARAYIS_LANG": value})


def test_a_changed_setting_is_seen_by_the_next_command(loaded: Cli, monkeypatch) -> None:
    loaded(*submit_args())
    assert loaded.json("list")[0]["submitted_at"] == "2026-11-25T10:00:00+04:00"
    monkeypatch.setenv("ARAYIS_ABONENT_CODE_MAX", "8")
    loaded("abonent", "show", "0011276516", code=2)
    monkeypatch.delenv("ARAYIS_ABONENT_CODE_MAX")
    loaded("abonent", "show", "0011276516")


def test_abonent_code_lengths_are_read(cli: Cli, unchanged) -> None:
    args = ["abonent", "add", "1234", "--group", "I", "--owner-name", "Ad Soyad"]
    args += ["--owner-fin", "5ZT8KPA", "--address", "Bakı"]
    with unchanged():
        cli(*args, code=2)
    cli(*args, env={"ARAYIS_ABONENT_CODE_MIN": "4"})


def _decision_days(cli: Cli, app_id: str) -> int:
    from sqlalchemy import select

    from arayis_cli.db import session_scope
    from arayis_cli.models import Application

    with session_scope(cli.url, write=False) as session:
        return int(
            session.execute(
                select(Application.decision_working_days).where(Application.id == int(app_id))
            ).scalar_one()
        )


def test_the_calendar_override_reaches_intake_and_decisions(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run hands its calendar (``ARAYIS_CALENDAR_OVERRIDE``, else the data directory's
    ``calendar-override.txt``) to the due date of a registration and the working days of a
    decision: a rest day it adds moves both (registered Wed 25 Nov 2026, due on the 3rd
    working day after)."""
    import os

    from tests.helpers import CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN

    plain = new_app(loaded)
    assert loaded.json("show", plain)["due_on"] == "2026-11-30"  # Thu, Fri, Mon
    override = tmp_path / "cal.txt"
    override.write_text("2026-11-26 rest  # a bridge day\n", encoding="utf-8")
    monkeypatch.setenv("ARAYIS_CALENDAR_OVERRIDE", str(override))
    moved = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    assert loaded.json("show", moved)["due_on"] == "2026-12-01"  # Fri, Mon, Tue
    monkeypatch.delenv("ARAYIS_CALENDAR_OVERRIDE")
    home = Path(os.environ["ARAYIS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "calendar-override.txt").write_text("2026-11-26 rest\n", encoding="utf-8")
    in_home = new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    assert loaded.json("show", in_home)["due_on"] == "2026-12-01"
    loaded.now("2026-11-27T10:00:00+04:00")  # Friday: Thursday was made a rest day
    for app_id in (plain, moved):
        loaded("review", app_id)
        loaded("approve", app_id)
    assert _decision_days(loaded, plain) == _decision_days(loaded, moved) == 1
    (home / "calendar-override.txt").unlink()
    loaded("reject", in_home, "--reason", "Uyğunsuzluq")
    assert _decision_days(loaded, in_home) == 2  # Thursday and Friday
