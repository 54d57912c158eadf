"""Where print writes: a copy has a default name of its own (never the original's file), and
no print replaces a file that is there unless --force says so."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in


def _state(path: Path) -> tuple[int, int, bytes]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, path.read_bytes()


def test_copy_without_out_leaves_the_original_alone(
    loaded: Cli, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    app_id = app_in(loaded, "completed")
    first = loaded.json("print", app_id)
    original = Path(first["path"])
    assert original == Path.cwd() / f"{first['certificate_number']}.pdf"
    before = _state(original)
    copy = loaded.json("print", app_id, "--copy")
    copied = Path(copy["path"])
    assert copied == Path.cwd() / f"{first['certificate_number']}-copy.pdf"
    assert _state(original) == before  # not replaced, not touched
    assert copied.read_bytes() == before[2]  # the same paper
    # A second copy would land on the first: refused, naming the ways on; nothing written.
    copy_before = _state(copied)
    err = loaded.json("print", app_id, "--copy", code=2)
    assert err["error"] == "invalid_input" and "--out" in err["message"]
    assert "--force" in err["message"] and str(copied) in err["message"]
    assert _state(copied) == copy_before and _state(original) == before
    # Onto the original by name: refused the same way.
    loaded("print", app_id, "--copy", "--out", original, code=2)
    assert _state(original) == before
    # --force replaces the file given (with the same registered bytes).
    forced = loaded.json("print", app_id, "--copy", "--force")
    assert Path(forced["path"]) == copied and copied.read_bytes() == before[2]
    # Elsewhere: fine.
    other = loaded.json("print", app_id, "--copy", "--out", tmp_path / "for-notary.pdf")
    assert Path(other["path"]).read_bytes() == before[2]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".arayis-")]  # no staging left


def test_a_new_certificate_never_replaces_a_file(
    loaded: Cli, tmp_path: Path, unchanged: Any
) -> None:
    app_id = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    taken = tmp_path / "arayis.pdf"
    taken.write_bytes(b"someone's letter")
    with unchanged():  # refused before a number is spent
        err = loaded.json("print", app_id, "--out", taken, code=2)
    assert "--force" in err["message"] and taken.read_bytes() == b"someone's letter"
    printed = loaded.json("print", app_id, "--out", taken, "--force")
    assert Path(printed["path"]) == taken and taken.read_bytes().startswith(b"%PDF")


def test_az_message_names_the_options(loaded: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app_id = app_in(loaded, "completed")
    loaded("print", app_id)
    loaded("print", app_id, "--copy")
    said = loaded("--lang", "az", "print", app_id, "--copy", code=2).stderr
    assert "--out" in said and "--force" in said and "already" not in said
    assert len(said.strip().splitlines()) == 1
