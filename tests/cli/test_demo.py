"""demo: the whole story, always in its own sandbox under ``<data dir>/demo/``,
whatever the database and signing-key settings say; the sample data travels in the package."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arayis_cli.cli.app import app
from tests.helpers import REPO, Cli, snapshot


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its SHA-256 (missing folder: empty)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _pdf_kid(pdf: Path) -> str:
    from arayis_cli.certificate.signing import parse_token, token_in_pdf

    token = token_in_pdf(pdf.read_bytes())
    assert token is not None
    return parse_token(token).kid


def test_demo_default_database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARAYIS_DATABASE_URL")
    monkeypatch.delenv("ARAYIS_NOW")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (tmp_path / "home" / "demo" / "demo.db").is_file()
    assert not (tmp_path / "home" / "arayis.db").exists()
    assert not list(tmp_path.glob("AR-*.pdf"))  # never a number of the office's series
    pdfs = sorted(tmp_path.glob("NM-*.pdf"))
    assert [p.name for p in pdfs] == ["NM-2026-000001-5.pdf", "NM-2026-000002-8.pdf"]
    from pypdf import PdfReader

    for pdf in pdfs:
        for page in PdfReader(str(pdf)).pages:
            assert "NÜMUNƏ — etibarsızdır" in page.extract_text()  # on every page
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'demo' / 'demo.db'}")
    with engine.connect() as conn:
        subjects = conn.execute(text("SELECT subject FROM outbox_message")).scalars().all()
    engine.dispose()
    assert subjects and all(s.startswith("NÜMUNƏ — etibarsızdır: ") for s in subjects)
    out = " ".join(result.stdout.split())
    assert "Ləğv olunmuş" in out and "warning" in out and "23,80 AZN" in out
    # Run again: a fresh demo database each time.
    again = CliRunner().invoke(app, ["demo"])
    assert again.exit_code == 0, again.stdout + again.stderr


def test_demo_json_is_one_document(tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)  # nothing else on stdout
    assert data["database"].endswith("demo.db")
    assert len(data["certificates"]) == 2
    assert data["emails_by_kind"]["approved_debt"] >= 1
    assert data["stats"]["by_status"]["rejected"] >= 1


def test_demo_never_touches_the_configured_database_or_key(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    # A live office: a loaded database (named by --db and by the variable), a configured
    # signing key, one real certificate in the register, and the default keys folder.
    monkeypatch.setenv("ARAYIS_DATABASE_URL", loaded.url)
    key_file = tmp_path / "office.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key_file))
    home = tmp_path / "home"
    before_db = snapshot(loaded.url)
    before_key = key_file.read_bytes(), key_file.stat().st_mtime_ns
    before_keys = _tree(home / "keys")

    result = loaded("demo")

    assert snapshot(loaded.url) == before_db
    assert (key_file.read_bytes(), key_file.stat().st_mtime_ns) == before_key
    assert _tree(home / "keys") == before_keys == {}
    assert (home / "demo" / "demo.db").is_file()
    assert list((home / "demo" / "keys").glob("*.pem"))
    pdfs = sorted(tmp_path.glob("NM-*.pdf"))
    assert len(pdfs) == 2
    office_kid = _pdf_kid_of_key(key_file)
    assert all(_pdf_kid(pdf) != office_kid for pdf in pdfs)
    assert "Print → warning" in result.stdout
    # A demo number is answered "demo" by the office's register: it never passes.
    verdict = json.loads(loaded("verify", pdfs[0].stem, "--json", code=6).stdout)
    assert verdict["reason"] == "demo"
    assert json.loads(loaded("verify", str(pdfs[0]), "--json", code=6).stdout)["reason"] == "demo"
    # Repeatable: a fresh sandbox each time, the office untouched again.
    loaded("demo")
    assert snapshot(loaded.url) == before_db


def _pdf_kid_of_key(path: Path) -> str:
    from arayis_cli.certificate.signing import KeyPlace, _read_private, key_id

    return key_id(_read_private(path, KeyPlace(None, path.parent)).public_key())


def test_sample_data_is_one_copy_found_through_the_package() -> None:
    from arayis_cli.cli.demo import SAMPLE_NAMES, sample_files

    with sample_files(None) as folder:
        assert all((folder / name).exists() for name in SAMPLE_NAMES)
        assert folder.resolve().is_relative_to((REPO / "arayis_cli").resolve())
    # The top-level folder stays usable by path and is the same files, not a copy.
    assert (REPO / "sample_data").resolve() == (REPO / "arayis_cli" / "sample_data").resolve()


def test_demo_refuses_a_sample_folder_that_is_not_one(loaded: Cli, tmp_path: Path) -> None:
    result = loaded("demo", "--sample-data", tmp_path, code=2)
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_wheel_carries_the_sample_data(tmp_path: Path) -> None:
    """A plain (non-editable) install has the sample data: demo runs from any folder."""
    import shutil

    # Built from a clean copy: a stale build/ folder in the checkout cannot help it pass.
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "arayis_cli", src / "arayis_cli", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("arayis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "abonents.csv",
        "ledger.csv",
        "applications.csv",
        "documents/sexsiyyet_vesiqesi.jpg",
        "documents/mulkiyyet_cixarisi.pdf",
    ):
        assert f"arayis_cli/sample_data/{name}" in names


#: The story's own lines in Azerbaijani: none may be left in an English demo.
STORY_AZ = (
    "Abonentlər və hesablar",
    "Portaldan gələn müraciətlər",
    "Sənədlərdə uyğunsuzluq",
    "Borc yoxdur",
    "Borc var",
    "Borc ödənilir",
    "Məktublar və statistika",
    "Müraciət №",
    "növbəyə qoyuldu",
    "səbəb abonentə",
    "Ödəniş qeydə alındı",
    "yazıldı",
    "Növbədəki məktublar",
    "Statuslar",
)


@pytest.mark.parametrize("lang", ["en", "az"])
def test_demo_story_follows_the_language(tmp_path: Path, monkeypatch, lang: str) -> None:
    """--lang en tells the story in English (the subscriber's portal sentence and the status
    labels stay Azerbaijani, as the subscriber sees them); the default is Azerbaijani."""
    monkeypatch.delenv("ARAYIS_DATABASE_URL")
    result = CliRunner().invoke(app, ["--lang", lang, "demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    found = [line for line in STORY_AZ if line in out]
    if lang == "en":
        assert found == []
        for heading in ("1. Abonents", "3. Documents do not match", "7. Emails and statistics"):
            assert heading in out
        assert "Payment recorded" in out and "Emails in the queue" in out
    else:
        assert found == list(STORY_AZ)
        assert "Payment recorded" not in out and "written:" not in out
    # Whatever the language: what the subscriber is told, and the status labels.
    assert "Əməliyyat uğurla yerinə yetirildi." in out and "Ləğv olunmuş" in out
