"""kill -9 of print at every step that matters, on SQLite and PostgreSQL.

After any kill and a rerun: no certificate number is ever issued twice (in the register or
on disk), every registered certificate's file holds exactly the registered bytes, no
staging file is left, a signed PDF whose register entry never committed does not verify,
and ``db check`` calls the store whole.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from arayis_cli.cli.app import app
from tests.helpers import DOCS, Cli

pytestmark = pytest.mark.slow

# Runs arayis with a kill -9 planted at one step of printing: a real SIGKILL at a precise
# moment (the process gets no chance to tidy up), not a simulated failure.
KILLER = """
import os, signal, sys
from arayis_cli.services import printfiles, printing

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[1]
if point == "number-committed":  # the number's own transaction has committed
    printing.issue_certificate = die
elif point == "pdf-staged":  # PDF fsynced in the staging file, register not committed
    write = printfiles.StagedFile.write
    def write_then_die(self, content):
        write(self, content)
        die()
    printfiles.StagedFile.write = write_then_die
elif point == "register-committed":  # certificate committed, file not yet in place
    printfiles.StagedFile.publish = die
else:
    raise SystemExit(f"unknown point {point}")
sys.argv = ["arayis", *sys.argv[2:]]
from arayis_cli.cli.app import main
main()
"""


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _staging(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".tmp"))


def _number_in(content: bytes) -> str:
    from arayis_cli.certificate.signing import token_in_pdf

    token = token_in_pdf(content)
    assert token is not None
    return token.split(".", 1)[0]


def _assert_settled(cli: Cli, folder: Path) -> dict[str, Path]:
    """The invariants after a rerun; returns the certificate files by number."""
    assert _staging(folder) == []
    register = dict(_rows(cli.url, "SELECT number, pdf_sha256 FROM certificate"))
    files: dict[str, Path] = {}
    for path in sorted(folder.glob("*.pdf")):
        content = path.read_bytes()
        number = _number_in(content)
        assert number not in files, f"number {number} on two files: {files[number]}, {path}"
        files[number] = path
        assert register.get(number) == hashlib.sha256(content).hexdigest(), (
            f"{path.name}: its number {number} is not registered with these bytes"
        )
    missing = sorted(set(register) - set(files))
    assert missing == [], f"registered without a file: {missing}"
    assert cli.json("db", "check")["ok"]
    return files


def _killed(cli: Cli, tmp_path: Path, point: str, *args: str) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), point, "--db", cli.url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def _completed(cli: Cli) -> str:
    from tests.helpers import submit_args

    app_id = str(cli.json(*submit_args())["id"])
    cli("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    cli("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    cli("review", app_id)
    cli("approve", app_id)
    return app_id


@pytest.mark.parametrize("point", ["number-committed", "pdf-staged", "register-committed"])
def test_kill_at_each_step_of_print(loaded: Cli, tmp_path: Path, point: str) -> None:
    app_id = _completed(loaded)
    folder = tmp_path / "out"
    folder.mkdir()
    _killed(loaded, tmp_path, point, "print", app_id, "--out", str(folder))
    left = _staging(folder)
    assert len(left) == 1 and left[0].stat().st_mode & 0o077 == 0  # hidden, owner-only
    counter = _rows(loaded.url, "SELECT value FROM counter WHERE name LIKE 'certificate-%'")
    assert counter == [(1,)]  # number 1 was spent, whichever step the kill hit
    registered = _rows(loaded.url, "SELECT number FROM certificate")
    if point == "pdf-staged":
        # A signed PDF whose register entry never committed: online it is not valid.
        assert registered == []
        orphan = tmp_path / "orphan.pdf"
        orphan.write_bytes(left[0].read_bytes())
        assert _number_in(orphan.read_bytes()) == "AR-2026-000001-5"
        verdict = loaded.runner.invoke(app, ["--db", loaded.url, "verify", str(orphan), "--json"])
        assert verdict.exit_code != 0
        # exit 4 "not in the register" today; exit 6 reason "not in register" (docs/json.md: verify)
        assert re.search(r"not in (the )?register", verdict.stdout + verdict.stderr)
    elif point == "register-committed":
        assert registered == [("AR-2026-000001-5",)]
    else:
        assert registered == [] and left[0].stat().st_size == 0

    # A certificate that committed is current: the next one is a renewal.
    renew = ["--renew", "--reason", "kill"] if point == "register-committed" else []
    again = loaded.json("print", app_id, "--out", folder, *renew)
    assert again["certificate_number"] == "AR-2026-000002-8"  # 1 is never issued again
    files = _assert_settled(loaded, folder)
    if point == "register-committed":  # the committed certificate got its file back
        assert sorted(files) == ["AR-2026-000001-5", "AR-2026-000002-8"]
        assert files["AR-2026-000001-5"].name == "AR-2026-000001-5.pdf"
    else:
        assert sorted(files) == ["AR-2026-000002-8"]


def test_settling_tells_the_clerk(loaded: Cli, tmp_path: Path) -> None:
    app_id = _completed(loaded)
    _killed(loaded, tmp_path, "register-committed", "print", app_id)
    renew = ("--renew", "--reason", "kill")  # the committed certificate is current
    people = loaded("print", app_id, *renew)
    assert "Certificate AR-2026-000001-5 restored from an interrupted print" in people.stderr
    _killed(loaded, tmp_path, "pdf-staged", "print", app_id, *renew)
    people = loaded("print", app_id, *renew)
    assert "Removed the staging file of an interrupted print" in people.stderr
    _assert_settled(loaded, tmp_path)


def test_files_of_other_programs_are_left_alone(loaded: Cli, tmp_path: Path) -> None:
    """Only arayis's own staging files are settled, whatever else ends in .tmp."""
    app_id = _completed(loaded)
    theirs = [tmp_path / ".backup.123.tmp", tmp_path / "notes.tmp", tmp_path / ".x.pdf.9.tmp"]
    for path in theirs:
        path.write_bytes(b"%PDF-1.4 someone else's")
    loaded("print", app_id)
    assert all(path.exists() for path in theirs)


def _many_ready(cli: Cli, tmp_path: Path, n: int) -> None:
    """n completed applications of n debt-free group I abonents."""
    rng = random.Random(7)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    abonents = ["code,group,owner_name,owner_fin,address"]
    apps = ["abonent,fin,phone,email,channel,external_id,submitted_at"]
    for i in range(1, n + 1):
        fin = "".join(rng.choice(alphabet) for _ in range(7))
        code = f"{9_000_000_000 + i:010d}"
        abonents.append(f"{code},I,Abonent {i},{fin},Bakı şəhəri küçə {i}")
        apps.append(f"{code},{fin},0501234567,u{i}@example.az,egov,K-{i},")
    (tmp_path / "abonents.csv").write_text("\n".join(abonents) + "\n", encoding="utf-8")
    (tmp_path / "apps.csv").write_text("\n".join(apps) + "\n", encoding="utf-8")
    cli("abonent", "import", tmp_path / "abonents.csv")
    cli("submit", "--from-file", tmp_path / "apps.csv")
    cli("review", "--next", "--count", str(n))
    ids = [str(i) for (i,) in _rows(cli.url, "SELECT id FROM application ORDER BY id")]
    cli("approve", *ids, "--override", "kill -9 test: documents are not the point")


def _spawn_batch(url: str, folder: Path) -> subprocess.Popen[bytes]:
    args = ["print", "--all-ready", "--out-dir", str(folder), "--json"]
    return subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", url, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _count(url: str) -> int:
    return int(_rows(url, "SELECT count(*) FROM certificate")[0][0])


def _kill_mid_batch(url: str, folder: Path, *, after: int, rng: random.Random) -> bool:
    """Start a batch, let it register ``after`` certificates, then kill -9 it at a random
    moment of a print: half the time as soon as a staging file is seen (the file is being
    written or just committed), else after a random pause. False if it finished first."""
    proc = _spawn_batch(url, folder)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and _count(url) < after:
        time.sleep(0.01)
    if rng.random() < 0.5:
        while proc.poll() is None and time.monotonic() < deadline and not _staging(folder):
            time.sleep(0.001)
    else:
        time.sleep(rng.uniform(0, 0.08))
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def test_kill_print_all_ready_at_random_moments(loaded: Cli, tmp_path: Path) -> None:
    n = 40
    _many_ready(loaded, tmp_path, n)
    folder = tmp_path / "batch"
    folder.mkdir()
    rng = random.Random(11)
    kills = 0
    for after in (1, 4, 8, 12, 16, 20, 24, 28, 32):
        kills += _kill_mid_batch(loaded.url, folder, after=after, rng=rng)
        # Before any rerun: numbers are unique and every file on show is registered as is.
        numbers = [r[0] for r in _rows(loaded.url, "SELECT number FROM certificate")]
        assert len(numbers) == len(set(numbers))
        register = dict(_rows(loaded.url, "SELECT number, pdf_sha256 FROM certificate"))
        for path in folder.glob("*.pdf"):
            content = path.read_bytes()
            assert register[_number_in(content)] == hashlib.sha256(content).hexdigest()
    assert kills >= 5, "the batch finished before it could be interrupted"
    final = _spawn_batch(loaded.url, folder)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    files = _assert_settled(loaded, folder)
    printed_apps = _rows(loaded.url, "SELECT DISTINCT application_id FROM certificate")
    assert len(printed_apps) == n  # every application has its certificate in the end
    spent = _rows(loaded.url, "SELECT value FROM counter WHERE name LIKE 'certificate-%'")[0][0]
    assert len(files) <= spent  # gaps allowed (kills), reuse never


def test_two_batches_sharing_a_folder_never_settle_each_others_files(
    loaded: Cli, tmp_path: Path
) -> None:
    """A staging file is locked by its live writer: the other batch's settling skips it."""
    _many_ready(loaded, tmp_path, 30)
    folder = tmp_path / "shared"
    folder.mkdir()
    procs = [_spawn_batch(loaded.url, folder) for _ in range(2)]
    # A third, killed mid-way, leaves a dead writer's file for the two live ones to meet.
    victim = _spawn_batch(loaded.url, folder)
    while victim.poll() is None and _count(loaded.url) < 3:
        time.sleep(0.01)
    if victim.poll() is None:
        os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    again = _spawn_batch(loaded.url, folder)
    for proc in [*procs, again]:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    # Concurrent batches may both print an application (each print is a new certificate).
    files = _assert_settled(loaded, folder)
    assert len(files) >= 30


def test_staging_file_from_the_old_layout_is_settled(loaded: Cli, tmp_path: Path) -> None:
    """arayis 0.1 named its staging files ``.<name>.<pid>.tmp`` and handed the number of one
    left by a kill to the next print: such a file's bytes are not the register's, so it
    is deleted; the register's own file stays."""
    app_id = _completed(loaded)
    path = Path(loaded.json("print", app_id)["path"])
    stale = tmp_path / f".{path.name}.4242.tmp"
    stale.write_bytes(path.read_bytes() + b"\n% other content, same number\n")
    unrelated = tmp_path / ".notes.pdf.77.tmp"
    unrelated.write_bytes(b"not a certificate")
    loaded("print", app_id, "--renew", "--reason", "again")
    assert not stale.exists() and unrelated.exists() and path.is_file()
    unrelated.unlink()
    _assert_settled(loaded, tmp_path)


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_render_workers_end_with_a_killed_batch(loaded: Cli, tmp_path: Path) -> None:
    """print --all-ready renders in worker processes; a kill -9 of the batch leaves none
    of them behind (they would hold nothing, but wait for work forever)."""
    _many_ready(loaded, tmp_path, 40)
    folder = tmp_path / "batch"
    folder.mkdir()
    proc = _spawn_batch(loaded.url, folder)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while proc.poll() is None and time.monotonic() < deadline and not workers:
        workers = _children(proc.pid)
        time.sleep(0.01)
    assert workers, "the batch rendered without worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    final = _spawn_batch(loaded.url, folder)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    _assert_settled(loaded, folder)
