""" "Çap et" (services.portal.press_print) draws the PDF holding no lock, between the check
that takes the number and the check that registers it: what may happen in between."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arayis_cli.errors import DebtOutstanding
from tests.helpers import CODE, Cli, app_in
from tests.helpers.pdf import text_of


def _ledger_file(folder: Path, kind: str, amount: str, reference: str) -> Path:
    """A ledger import of one entry for the test abonent, dated the tests' today."""
    path = folder / f"{reference}.csv"
    path.write_text(
        f"abonent_code,date,kind,amount,reference\n{CODE},2026-11-25,{kind},{amount},{reference}\n",
        encoding="utf-8",
    )
    return path


def _while_drawing(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None]) -> list[int]:
    """Run ``meanwhile`` (another operator's command) as the first PDF is being drawn."""
    import arayis_cli.certificate.pdf as pdf_module

    real = pdf_module.render
    drawn: list[int] = []

    def render(data: Any) -> bytes:
        drawn.append(data.application_id)
        if len(drawn) == 1:
            meanwhile()
        return real(data)

    monkeypatch.setattr(pdf_module, "render", render)
    return drawn


def _press(cli: Cli, app_id: str, actor: str = "api:egov") -> Any:
    from arayis_cli.db import session_scope
    from arayis_cli.services.portal import press_print
    from tests.helpers import issuer, run_now

    def sessions(*, write: bool = True) -> Any:
        return session_scope(cli.url, write=write)

    from arayis_cli.db import WriteTurns

    return press_print(
        sessions,
        int(app_id),
        now=run_now(),
        actor=actor,
        issuer=issuer(),
        turns=WriteTurns(cli.url),
    )


def test_a_charge_while_the_pdf_is_drawn_refuses_the_press(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_id = app_in(loaded, "completed")
    bill = _ledger_file(tmp_path, "charge", "9.15", "BF-X")
    drawn = _while_drawing(monkeypatch, lambda: loaded("ledger", "import", str(bill)))
    with pytest.raises(DebtOutstanding):
        _press(loaded, app_id)
    assert drawn == [int(app_id)]
    shown = loaded.json("show", app_id)
    assert shown["certificates"] == []
    assert shown["history"][-1]["action"] == "print_refused"
    assert shown["history"][-1]["detail"]["debt"] == "9.15"
    loaded("pay", CODE, "9.15")
    again = _press(loaded, app_id)
    assert again.fresh and again.certificate.number == "AR-2026-000002-8"  # 1 is a gap
    assert loaded.json("db", "check")["ok"]


def test_a_name_registered_while_it_is_drawn_is_on_the_certificate(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_id = app_in(loaded, "completed")
    drawn = _while_drawing(
        monkeypatch, lambda: loaded("staff", "add", "leyla", "--name", "Leyla Əliyeva")
    )
    pressed = _press(loaded, app_id, actor="leyla")
    assert drawn == [int(app_id), int(app_id)]  # drawn again with what it must show
    assert pressed.fresh and "Leyla Əliyeva" in text_of(pressed.pdf)
    assert _press(loaded, app_id, actor="leyla").pdf == pressed.pdf  # what was registered
    assert loaded.json("verify", pressed.certificate.number, "--abonent", CODE)["valid"]


def test_a_certificate_registered_meanwhile_is_handed_out(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process printed the application while this press drew its PDF: its
    certificate is the one handed out, and this press's number stays a gap."""
    app_id = app_in(loaded, "completed")
    out = tmp_path / "office.pdf"
    drawn = _while_drawing(monkeypatch, lambda: loaded("print", app_id, "--out", str(out)))
    pressed = _press(loaded, app_id)
    assert drawn == [int(app_id), int(app_id)]  # this press's, then the office's
    assert not pressed.fresh and pressed.pdf == out.read_bytes()
    shown = loaded.json("show", app_id)
    assert [c["certificate_number"] for c in shown["certificates"]] == ["AR-2026-000002-8"]
    assert [a["printed"] for a in shown["print_attempts"]] == [True, True]
    assert loaded.json("db", "check")["ok"]


def test_presses_of_two_processes_take_turns_at_the_write_lock(loaded: Cli) -> None:
    """SQLite: a press writes only in its turn, which another process holding it (the
    ``<database>-turn`` file's lock, taken here through a descriptor of its own, as another
    worker would) makes it wait for — in a queue that wakes it at once, not in SQLite's
    sleeping busy handler."""
    import fcntl
    import os
    import threading

    from arayis_cli.db import WriteTurns

    if not loaded.url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows: no turns")
    app_id = app_in(loaded, "completed")
    turn_file = WriteTurns(loaded.url).path
    assert turn_file is not None and turn_file.name.endswith(".db-turn")
    fd = os.open(turn_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another worker" holds the turn
    waiting = threading.Event()
    real_take = WriteTurns._take

    def take(self: WriteTurns, turn_fd: int) -> None:
        waiting.set()
        real_take(self, turn_fd)

    pressed: list[Any] = []
    press = threading.Thread(target=lambda: pressed.append(_press(loaded, app_id)))
    try:
        WriteTurns._take = take  # type: ignore[method-assign]
        press.start()
        assert waiting.wait(30)  # it came to the turn (checked, to take its number) …
        press.join(0.5)
        assert press.is_alive() and not pressed  # … and waits for it
        assert loaded.json("show", app_id)["certificates"] == []
    finally:
        WriteTurns._take = real_take  # type: ignore[method-assign]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    press.join(30)
    assert pressed and pressed[0].fresh
    assert loaded.json("db", "check")["ok"]


def test_a_workers_rehearsal_writes_nothing(loaded: Cli) -> None:
    """A web worker presses once as it starts, in a transaction rolled back, so that the
    first subscriber's press finds its statements compiled: nothing of it stays."""
    import arayis_cli.services.printing as printing
    from arayis_cli.certificate.signing import current_signer
    from arayis_cli.db import WriteTurns, session_scope
    from arayis_cli.services.portal import rehearse
    from tests.helpers import issuer, run_now
    from tests.helpers.database import snapshot

    app_id = app_in(loaded, "completed")
    current_signer(issuer().keys)  # the terminal's key made (a rehearsal never makes one)
    before = snapshot(loaded.url)
    turns = WriteTurns(loaded.url)
    sessions = lambda *, write=True: session_scope(loaded.url, write=write)  # noqa: E731
    registered: list[str] = []
    real = printing.register_certificate

    def register(session: Any, prepared: Any, pdf: bytes) -> Any:
        registered.append(prepared.number)
        return real(session, prepared, pdf)

    printing.register_certificate = register  # type: ignore[assignment]
    try:
        rehearse(sessions, turns, now=run_now(), issuer=issuer())
    finally:
        printing.register_certificate = real  # type: ignore[assignment]
        turns.close()
    # SQLite rehearses (a certificate registered, then rolled back); PostgreSQL does not.
    assert registered == (["AR-2026-000001-5"] if loaded.url.startswith("sqlite") else [])
    assert snapshot(loaded.url) == before
    pressed = _press(loaded, app_id)
    assert pressed.fresh and pressed.certificate.number == "AR-2026-000001-5"
    assert loaded.json("db", "check")["ok"]


def test_a_revocation_after_the_look_refuses_the_copy(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The press looks without the write lock; a revocation committed between its look and
    its record of the hand-out is found in its write turn: the press is decided again under
    lock (refused: only the office renews a revoked certificate), and no copy is recorded."""
    from arayis_cli.errors import Conflict
    from arayis_cli.services import portal

    if not loaded.url.startswith("sqlite"):
        pytest.skip("PostgreSQL checks and hands out in one transaction: no look")
    app_id = app_in(loaded, "completed")
    number = _press(loaded, app_id).certificate.number
    real = portal._look

    def look_then_revoke(*args: Any, **kwargs: Any) -> Any:
        looked = real(*args, **kwargs)
        loaded("revoke", number, "--reason", "Səhv ünvan")
        return looked

    monkeypatch.setattr(portal, "_look", look_then_revoke)
    with pytest.raises(Conflict, match="revoked"):
        _press(loaded, app_id)
    history = loaded.json("show", app_id)["history"]
    assert [e["action"] for e in history][-1] == "revoke"
    assert loaded.json("db", "check")["ok"]


def test_a_charge_after_the_look_refuses_the_copy(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a copy's bytes are read without the write lock, but its debt is checked
    under it: a charge committed after the look refuses the hand-out and is recorded."""
    from arayis_cli.services import portal

    if not loaded.url.startswith("sqlite"):
        pytest.skip("PostgreSQL checks and hands out in one transaction: no look")
    app_id = app_in(loaded, "completed")
    _press(loaded, app_id)
    bill = _ledger_file(tmp_path, "charge", "4.20", "BF-Y")
    real = portal._look

    def look_then_charge(*args: Any, **kwargs: Any) -> Any:
        looked = real(*args, **kwargs)
        assert isinstance(looked, portal.Pressed)
        loaded("ledger", "import", str(bill))
        return looked

    monkeypatch.setattr(portal, "_look", look_then_charge)
    with pytest.raises(DebtOutstanding):
        _press(loaded, app_id)
    history = loaded.json("show", app_id)["history"]
    assert history[-1]["action"] == "print_refused"
    assert history[-1]["detail"]["debt"] == "4.20"
    assert [e for e in history if e["detail"] and e["detail"].get("copy")] == []
    assert loaded.json("db", "check")["ok"]


def test_the_look_writes_nothing(loaded: Cli) -> None:
    """SQLite: the look runs on a connection that refuses writes; on a fresh terminal, whose
    key is not in the register yet, it leaves the decision (and the key's registration) to
    the write turn."""
    from arayis_cli.db import session_scope
    from arayis_cli.services import portal
    from tests.helpers import issuer, run_now
    from tests.helpers.database import snapshot

    if not loaded.url.startswith("sqlite"):
        pytest.skip("PostgreSQL: no look")
    app_id = app_in(loaded, "completed")
    before = snapshot(loaded.url)
    looked = portal._look(
        lambda *, write=True: session_scope(loaded.url, write=write),
        int(app_id),
        now=run_now(),
        actor="api:egov",
        issuer=issuer(),
    )
    assert looked is None  # the key is to be registered: only the write turn decides
    assert snapshot(loaded.url) == before
    assert _press(loaded, app_id).fresh
    assert loaded.json("db", "check")["ok"]


def test_a_hand_out_checks_the_debt_and_draws_and_signs_nothing(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A press with a current certificate hands its registered paper out again: the debt is
    checked at this press and the hand-out recorded, but no key is asked for and nothing is
    drawn (that was a third of a second press's work)."""
    import arayis_cli.certificate.pdf as pdf_module
    from arayis_cli.services import keys

    app_id = app_in(loaded, "completed")
    first = _press(loaded, app_id)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a hand-out neither signs nor draws")

    monkeypatch.setattr(keys, "signer_for_print", refused)
    monkeypatch.setattr(pdf_module, "render", refused)
    again = _press(loaded, app_id)
    assert (again.pdf, again.fresh) == (first.pdf, False)
    history = loaded.json("show", app_id)["history"]
    assert history[-1]["action"] == "print" and history[-1]["detail"]["copy"] is True


def test_a_certificate_signed_by_a_stolen_key_is_not_handed_out(loaded: Cli) -> None:
    """A hand-out asks for no key, but the key that signed the current certificate must
    not have been reported stolen before it signed (verification would answer ``key
    compromised``): refused, nothing recorded, the office renews it. A key only retired
    still hands its certificates out."""

    app_id = app_in(loaded, "completed")
    first = _press(loaded, app_id)
    kid = first.certificate.key_id
    loaded("keys", "retire", kid)
    assert _press(loaded, app_id).pdf == first.pdf  # retired, not stolen: still valid
    events = len(loaded.json("show", app_id)["history"])
    loaded("keys", "retire", kid, "--compromised", "--since", "2026-11-01T00:00")
    _refused_as_verify_would(loaded, first, events, "stolen", "key_compromised")


def _refused_as_verify_would(loaded: Cli, first: Any, events: int, match: str, code: str) -> None:
    """A press of ``first``'s application refused (Conflict naming ``match``), nothing
    recorded (``events`` rows of history still), support's print_blocker ``code``, and
    ``verify`` refusing the certificate for the same reason."""
    from arayis_cli.errors import Conflict

    app_id = str(first.certificate.application_id)
    with pytest.raises(Conflict, match=match):
        _press(loaded, app_id)
    shown = loaded.json("show", app_id)
    assert len(shown["history"]) == events
    assert shown["print_blocker"]["code"] == code
    verdict = loaded.json("verify", first.certificate.number, "--abonent", CODE, code=6)
    assert verdict["reason"] == code.replace("_", " ")


def _counting_signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import arayis_cli.services.printing as printing

    signed: list[str] = []
    real_sign = printing.sign_checked

    def sign(*args: Any, **kwargs: Any) -> Any:
        signed.append(kwargs["number"])
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(printing, "sign_checked", sign)
    return signed


def test_a_press_registers_what_it_signed_and_drew_when_nothing_changed(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check under lock found what the PDF was drawn from: that very signature and
    drawing are registered (signed once, drawn once)."""
    signed = _counting_signatures(monkeypatch)
    app_id = app_in(loaded, "completed")
    drawn = _while_drawing(monkeypatch, lambda: None)
    pressed = _press(loaded, app_id)
    assert pressed.fresh and signed == [pressed.certificate.number] and drawn == [int(app_id)]
    assert loaded.json("verify", pressed.certificate.number, "--abonent", CODE)["valid"]


def test_a_payment_while_it_is_drawn_is_on_the_certificate(
    loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payment committed while the PDF was drawn changes the balance it shows: signed
    and drawn again, the new balance on the registered paper."""
    signed = _counting_signatures(monkeypatch)
    app_id = app_in(loaded, "completed")
    receipt = _ledger_file(tmp_path, "payment", "7.40", "RC-1")
    drawn = _while_drawing(monkeypatch, lambda: loaded("ledger", "import", str(receipt)))
    pressed = _press(loaded, app_id)
    assert drawn == [int(app_id), int(app_id)] and len(signed) == 2
    assert pressed.fresh and "artıq ödəniş" in text_of(pressed.pdf)
    shown = loaded.json("show", app_id)
    assert shown["certificates"][0]["balance"] == "-7.40"
    assert loaded.json("verify", pressed.certificate.number, "--abonent", CODE)["valid"]


def test_an_expired_certificate_is_not_handed_out(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past its validity the current certificate would not verify (``expired``): "Çap et"
    refuses it (nothing recorded) and names the renewal; support's ``show`` says why; the
    office's ``print --copy`` still writes the registered paper, and says it would not
    verify."""
    from datetime import timedelta

    from arayis_cli.errors import Conflict

    app_id = app_in(loaded, "completed")
    first = _press(loaded, app_id)
    until = first.certificate.valid_until
    monkeypatch.setenv("ARAYIS_NOW", f"{until.isoformat()}T23:00:00+04:00")
    assert _press(loaded, app_id).pdf == first.pdf  # its last valid day
    events = len(loaded.json("show", app_id)["history"])
    monkeypatch.setenv("ARAYIS_NOW", f"{until.isoformat()}T23:59:59+04:00")
    late = loaded.json("show", app_id)
    assert late["print_blocker"]["code"] == "valid_certificate"
    # The next day in Baku, though still the last valid day in UTC: expired.
    monkeypatch.setenv("ARAYIS_NOW", f"{until + timedelta(days=1)}T00:30:00+04:00")
    with pytest.raises(Conflict, match="expired"):
        _press(loaded, app_id)
    assert loaded.json("show", app_id)["print_blocker"]["code"] == "expired"
    monkeypatch.setenv("ARAYIS_NOW", "2027-02-10T10:00:00+04:00")
    _refused_as_verify_would(loaded, first, events, "expired", "expired")
    copy = loaded.json("print", app_id, "--copy", "--out", str(tmp_path / "a.pdf"))
    assert (copy["valid"], copy["reason"]) == (False, "expired")
    assert (tmp_path / "a.pdf").read_bytes() == first.pdf
    said = loaded("--lang", "en", "print", app_id, "--copy", "--out", str(tmp_path / "b.pdf"))
    assert "expired on" in said.stderr and "--renew" in said.stderr
