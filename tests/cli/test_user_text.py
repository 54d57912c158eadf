"""User text is text (docs/input.md): names, addresses, reasons, file names and operators are
shown literally in every output; nothing a person typed is read as Rich markup or emoji."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DOCS, OWNER_FIN, Cli, submit_args

# Wide enough that Rich never wraps a cell, so the literal text stays on one line.
WIDE = {"COLUMNS": "400"}

HOSTILE = [
    "Sənəd [/] yoxdur",
    "[bold]x[/bold]",
    "[/]",
    "[link=http://x]y[/link]",
    ":smile:",
    "[red]qırmızı",
]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_reason_is_shown_literally(loaded: Cli, text: str) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    rejected = loaded("reject", app_id, "--reason", text, env=WIDE)
    assert text in rejected.stdout, rejected.stdout
    assert loaded.json("show", app_id)["rejection_reason"] == text
    people = loaded("show", app_id, env=WIDE).stdout
    assert text in people
    assert "😄" not in people


@pytest.mark.parametrize("text", HOSTILE)
def test_owner_name_address_and_operator_are_shown_literally(loaded: Cli, text: str) -> None:
    code = "0099000001"
    loaded(
        "abonent", "add", code, "--group", "I", "--owner-name", f"Ad {text}",
        "--owner-fin", OWNER_FIN, "--address", f"Bakı {text}", env=WIDE,
    )  # fmt: skip
    shown = loaded("abonent", "show", code, env=WIDE).stdout
    assert f"Ad {text}" in shown and f"Bakı {text}" in shown
    data = loaded.json("abonent", "show", code)
    assert data["owner_name"] == f"Ad {text}" and data["address"] == f"Bakı {text}"

    app_id = str(loaded.json(*submit_args(code=code))["id"])
    loaded("--operator", f"op {text}", "review", app_id, env=WIDE)
    people = loaded("show", app_id, env=WIDE).stdout
    assert f"Ad {text}" in people and f"op {text}" in people
    assert loaded.json("show", app_id)["operator"] == f"op {text}"
    assert f"op {text}" in loaded("list", env=WIDE).stdout


# No "/" here: it would be a folder separator, not part of the name.
@pytest.mark.parametrize("text", ["[bold]x", "[red]y[link=http:]z", ":smile:"])
def test_file_names_are_shown_literally(loaded: Cli, tmp_path: Path, text: str) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    odd = tmp_path / f"vəsiqə {text}.jpg"
    shutil.copy(DOCS / "sexsiyyet_vesiqesi.jpg", odd)
    attached = loaded("attach", app_id, odd, "--kind", "id-card", env=WIDE)
    assert odd.name in attached.stdout
    assert loaded.json("show", app_id)["documents"][0]["filename"] == odd.name
    assert odd.name in loaded("show", app_id, env=WIDE).stdout


def test_import_report_rows_are_literal(loaded: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,group,owner_name,owner_fin,address\n"
        f"[bold]1,I,Ad,{OWNER_FIN},Bakı\n"
        f"[/]2,I,Ad,{OWNER_FIN},Bakı\n",
        encoding="utf-8",
    )
    result = loaded("abonent", "import", bad, code=2, env=WIDE)
    assert "'[bold]1'" in result.stdout and "'[/]2'" in result.stdout, result.stdout
    assert "2 with errors" in _flat(result.stdout)


def test_no_rich_markup_left_in_the_package() -> None:
    """The console reads no markup, so a markup string would print its brackets: style
    goes through the ``Text`` helpers of cli/output.py instead."""
    import re

    from tests.helpers import REPO

    markup = re.compile(r"\[/\]|\[/?(bold|dim|italic|green|red|yellow|cyan|blue|magenta)\b")
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "arayis_cli").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if markup.search(line)
    ]
    assert found == []
