"""attach: content-sniffed PDF/JPEG/PNG, limits, all-or-nothing, stored once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.helpers import DOCS, Cli, submit_args


def _app(cli: Cli) -> str:
    return str(cli.json(*submit_args())["id"])


def test_attach_stores_documents(loaded: Cli) -> None:
    app_id = _app(loaded)
    app = loaded.json("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    app = loaded.json(
        "attach",
        app_id,
        DOCS / "mulkiyyet_cixarisi.pdf",
        DOCS / "bildiris_faktura.png",
        "--kind",
        "ownership",
    )
    docs = {d["filename"]: d for d in app["documents"]}
    assert docs["sexsiyyet_vesiqesi.jpg"]["media_type"] == "image/jpeg"
    assert docs["mulkiyyet_cixarisi.pdf"]["media_type"] == "application/pdf"
    assert docs["bildiris_faktura.png"]["media_type"] == "image/png"
    pdf = (DOCS / "mulkiyyet_cixarisi.pdf").read_bytes()
    assert docs["mulkiyyet_cixarisi.pdf"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert docs["mulkiyyet_cixarisi.pdf"]["size"] == len(pdf)


def test_bytes_are_kept_exactly(loaded: Cli) -> None:
    from sqlalchemy import create_engine, text

    app_id = _app(loaded)
    loaded("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        content = conn.execute(text("SELECT content FROM document_blob")).scalar_one()
    engine.dispose()
    assert bytes(content) == (DOCS / "sexsiyyet_vesiqesi.jpg").read_bytes()


def test_same_bytes_stored_once(loaded: Cli, tmp_path: Path) -> None:
    app_id = _app(loaded)
    copy = tmp_path / "copy-of-id.jpg"
    copy.write_bytes((DOCS / "sexsiyyet_vesiqesi.jpg").read_bytes())
    loaded("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", copy, "--kind", "id-card")
    app = loaded.json("attach", app_id, copy, "--kind", "id-card")
    assert len(app["documents"]) == 1


def test_refused_files_change_nothing(loaded: Cli, tmp_path: Path, unchanged, monkeypatch) -> None:
    app_id = _app(loaded)
    good = DOCS / "mulkiyyet_cixarisi.pdf"
    text_file = tmp_path / "notes.pdf"
    text_file.write_text("just text, named .pdf", encoding="utf-8")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:2000])
    png_as_pdf = tmp_path / "scan.pdf"
    png_as_pdf.write_bytes((DOCS / "bildiris_faktura.png").read_bytes())
    link = tmp_path / "link.pdf"
    os.symlink(good, link)
    big = tmp_path / "big.pdf"
    big.write_bytes(good.read_bytes())
    with unchanged():
        for bad in (text_file, empty, truncated, link, tmp_path, tmp_path / "missing.pdf"):
            # A good file in the same call is not stored either: all or none.
            loaded("attach", app_id, good, bad, "--kind", "ownership", code=2)
        loaded("attach", app_id, good, "--kind", "passport", code=2)
        loaded("attach", "999", good, "--kind", "ownership", code=4)
        monkeypatch.setenv("ARAYIS_MAX_DOCUMENT_BYTES", "5000")
        err = loaded.json("attach", app_id, big, "--kind", "ownership", code=2)
        assert "limit" in err["message"]
    # Content decides, not the name: a PNG called .pdf is stored as a PNG.
    monkeypatch.delenv("ARAYIS_MAX_DOCUMENT_BYTES")
    app = loaded.json("attach", app_id, png_as_pdf, "--kind", "other")
    assert app["documents"][0]["media_type"] == "image/png"


def test_attach_only_while_open(loaded: Cli, unchanged) -> None:
    app_id = _app(loaded)
    loaded("reject", app_id, "--reason", "Sənədlər oxunmur")
    with unchanged():
        loaded("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership", code=5)
