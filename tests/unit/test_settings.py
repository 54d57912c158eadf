"""The one Settings object: defaults, checks naming the variable, and nobody else reading
the environment; errors imports nothing of the package (no errors ↔ money cycle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from arayis_cli import config
from arayis_cli.config import Settings
from arayis_cli.errors import DebtOutstanding, InvalidInput
from arayis_cli.money import money_json
from tests.helpers import REPO, Cli

PACKAGE = REPO / "arayis_cli"


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.certificate_validity_days == 30 and s.max_document_bytes == 10 * 1024 * 1024
    assert s.abonent_code_lengths == (6, 12) and s.lang == "az"
    assert s.now is None and s.debug is False and s.smtp_url is None and s.signing_key is None


def test_every_variable_is_read() -> None:
    env = {
        "ARAYIS_HOME": "/srv/arayis",
        "ARAYIS_DATABASE_URL": "sqlite:///x.db",
        "ARAYIS_OPERATOR": "leyla",
        "ARAYIS_ORGANISATION": "Su ASC",
        "ARAYIS_MAX_DOCUMENT_BYTES": "2048",
        "ARAYIS_CERTIFICATE_VALIDITY_DAYS": "7",
        "ARAYIS_ABONENT_CODE_MIN": "8",
        "ARAYIS_ABONENT_CODE_MAX": "10",
        "ARAYIS_CALENDAR_OVERRIDE": "/etc/arayis/cal.txt",
        "ARAYIS_VERIFY_URL": "https://example.az/v/",
        "ARAYIS_SIGNING_KEY": "/etc/arayis/key.pem",
        "ARAYIS_SIGNING_KEY_PASSPHRASE_FILE": "/etc/arayis/key.pass",
        "ARAYIS_SMTP_URL": "smtp://mail:25",
        "ARAYIS_MAIL_FROM": "a@example.az",
        "ARAYIS_LANG": "en",
        "ARAYIS_NOW": "2026-03-18T14:00:00",
        "ARAYIS_DEBUG": "1",
    }
    assert set(env) == set(config.ENV_NAMES)
    s = Settings.from_env(env)
    assert s.data_dir() == Path("/srv/arayis") and s.database_url == "sqlite:///x.db"
    assert s.operator == "leyla" and s.organisation == "Su ASC"
    assert s.max_document_bytes == 2048 and s.certificate_validity_days == 7
    assert s.abonent_code_lengths == (8, 10)
    assert s.calendar_override == Path("/etc/arayis/cal.txt")
    assert s.verify_url_base == "https://example.az/v/"
    assert s.signing_key == Path("/etc/arayis/key.pem")
    assert s.signing_key_passphrase_file == Path("/etc/arayis/key.pass")
    assert (s.smtp_url, s.mail_from, s.lang) == ("smtp://mail:25", "a@example.az", "en")
    assert s.now is not None and s.now.isoformat() == "2026-03-18T14:00:00+04:00"
    assert s.debug is True


@pytest.mark.parametrize(
    "name,value",
    [
        ("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "-5"),
        ("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "0"),
        ("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "abc"),
        ("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "1e3"),
        ("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "3661"),
        ("ARAYIS_MAX_DOCUMENT_BYTES", "-1"),
        ("ARAYIS_MAX_DOCUMENT_BYTES", "0"),
        ("ARAYIS_MAX_DOCUMENT_BYTES", "10 MiB"),
        ("ARAYIS_ABONENT_CODE_MIN", "0"),
        ("ARAYIS_ABONENT_CODE_MAX", "21"),
        ("ARAYIS_LANG", "xx"),
        ("ARAYIS_LANG", "az_AZ"),
        ("ARAYIS_VERIFY_URL", "ftp://x/"),
        ("ARAYIS_VERIFY_URL", "https://x/ y"),
        ("ARAYIS_NOW", "1999-01-01"),
        ("ARAYIS_NOW", "now"),
        ("ARAYIS_DEBUG", "2"),
        ("ARAYIS_ORGANISATION", "Azərsu\nASC"),
    ],
)
def test_nonsense_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Settings.from_env({name: value})
    assert name in err.value.message and err.value.exit_code == 2


def test_code_min_above_max() -> None:
    with pytest.raises(InvalidInput) as err:
        Settings.from_env({"ARAYIS_ABONENT_CODE_MIN": "10", "ARAYIS_ABONENT_CODE_MAX": "8"})
    assert "ARAYIS_ABONENT_CODE_MIN" in err.value.message


def test_blank_means_default() -> None:
    s = Settings.from_env({name: "  " for name in config.ENV_NAMES})
    assert s == Settings()


def test_each_invocation_reads_the_settings_afresh(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No settings outlive a run (there is no process-wide cache to go stale): the next
    in-process invocation sees a variable changed since, bad or good."""
    assert not hasattr(config, "settings") and not hasattr(config, "_cache")
    monkeypatch.setenv("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "-1")
    assert "ARAYIS_CERTIFICATE_VALIDITY_DAYS" in cli("list", "--json", code=2).stderr
    monkeypatch.setenv("ARAYIS_CERTIFICATE_VALIDITY_DAYS", "11")
    assert cli.json("list") == []


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "getenv") for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_nobody_else_reads_the_environment() -> None:
    """config.py reads the variables; i18n.py reads ARAYIS_LANG alone (leniently, so that a
    refusal of a bad setting can be worded without re-entering the settings)."""
    offenders = {
        str(path.relative_to(REPO)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in (PACKAGE / "config.py", PACKAGE / "i18n.py")
        and (lines := _reads_environment(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}
    i18n = (PACKAGE / "i18n.py").read_text(encoding="utf-8").splitlines()
    reads = _reads_environment(ast.parse("\n".join(i18n)))
    assert [i18n[n - 1].strip() for n in reads] == [
        'raw = (os.environ.get(ENV_LANG) or "").strip().lower()'
    ]


def test_errors_imports_nothing_of_the_package() -> None:
    tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    imported = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    ]
    assert not [m for m in imported if m and m.startswith("arayis_cli")]
    code = (
        "import sys; from decimal import Decimal; import arayis_cli.errors as e; "
        "e.DebtOutstanding('x', debt=Decimal('1.5')); print('arayis_cli.money' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("debt", ["23.8", "0", "1234567.05", "0.005", "-0"])
def test_debt_json_is_money_json(debt: str) -> None:
    err = DebtOutstanding("owes", debt=Decimal(debt))
    assert err.as_json()["debt"] == money_json(Decimal(debt))


def test_frozen_clock_is_aware() -> None:
    s = Settings.from_env({"ARAYIS_NOW": "2026-11-25T10:00:00Z"})
    assert s.now == datetime.fromisoformat("2026-11-25T10:00:00+00:00")
