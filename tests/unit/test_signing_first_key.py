"""The terminal's signing key is made on first use, once: presses that start together on
a fresh terminal (the portal's first burst) sign with one key, the one the register
calls current."""

from __future__ import annotations

import threading
from pathlib import Path

from arayis_cli.certificate.signing import KeyPlace, current_signer, sandbox_keys


def test_simultaneous_first_uses_make_one_key(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    start = threading.Barrier(8)
    kids: list[str] = []

    def first_use() -> None:
        with sandbox_keys(folder):
            start.wait()
            signer = current_signer(KeyPlace(None, folder))
            assert signer is not None
            kids.append(signer.kid)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert (folder / "current").read_text(encoding="ascii").strip() == kids[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["current", f"{kids[0]}.pem"])
    with sandbox_keys(folder):
        again = current_signer(KeyPlace(None, folder))
    assert again is not None and again.kid == kids[0]
