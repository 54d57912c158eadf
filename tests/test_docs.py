"""Docs cannot drift: every command has help and appears in README; CI runs README's command."""

from __future__ import annotations

import re

from typer.main import get_command
from typer.testing import CliRunner

from arayis_cli.cli.app import app
from tests.helpers import REPO


def _commands() -> list[tuple[str, ...]]:
    root = get_command(app)
    found = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            found += [(name, s) for s in sub]
        else:
            found.append((name,))
    return found


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for path in _commands():
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        cmd = get_command(app)
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"


def test_every_command_is_in_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in _commands():
        assert f"arayis {' '.join(path)}" in readme, f"README lacks 'arayis {' '.join(path)}'"


def test_every_command_accepts_json() -> None:
    root = get_command(app)
    for path in _commands():
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        if path == ("demo",):
            continue  # a story told for people
        assert any("--json" in p.opts for p in cmd.params), path


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r'^TEST_CMD="(.+)"$', ci, re.M)
    assert command, "TEST_CMD not found in .ci/run"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert command.group(1) in readme


def test_version() -> None:
    from arayis_cli import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"arayis {__version__}\n"


def test_usage_errors_as_json_for_scripts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'u.db'}"
    cmd = [sys.executable, "-m", "arayis_cli", "--db", url, "list", "--limit", "abc"]
    people = subprocess.run(cmd, capture_output=True, text=True)
    assert people.returncode == 2 and "Invalid value for '--limit'" in people.stderr
    scripts = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert scripts.returncode == 2 and scripts.stdout == ""
    assert json.loads(scripts.stderr)["error"] == "usage"


# -- the contract in docs/ -----------------------------------------------------------------

DOCS_DIR = REPO / "docs"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```(json|jsonl)\n(.*?)\n```", re.S)


def _examples() -> dict[str, list[object]]:
    """docs/json.md's examples by name: one document each, or the lines of a JSON Lines one.
    An ellipsis inside a string (``"b924f394…"``) shortens a value, not its type."""
    import json

    text = (DOCS_DIR / "json.md").read_text(encoding="utf-8")
    found: dict[str, list[object]] = {}
    for name, kind, body in EXAMPLE.findall(text):
        assert name not in found, f"example {name!r} twice"
        lines = body.splitlines() if kind == "jsonl" else [body]
        found[name] = [json.loads(line) for line in lines]
    return found


def _shape_differences(example: object, real: object, where: str = "$") -> list[str]:
    """Where ``real`` differs from ``example`` in keys or value types (null matches any
    type; a list's items are compared pairwise as far as both go; an empty list in the
    example leaves its items to the prose)."""
    if example is None or real is None:
        return []
    if isinstance(example, dict) and isinstance(real, dict):
        out = []
        if set(example) != set(real):
            missing, extra = sorted(set(example) - set(real)), sorted(set(real) - set(example))
            out.append(f"{where}: keys only in the example {missing}, only in real {extra}")
        for key in set(example) & set(real):
            out += _shape_differences(example[key], real[key], f"{where}.{key}")
        return out
    if isinstance(example, list) and isinstance(real, list):
        if example and not real:
            return [f"{where}: the example has items, the real output none"]
        return [
            d
            for i, (e, r) in enumerate(zip(example, real, strict=False))
            for d in _shape_differences(e, r, f"{where}[{i}]")
        ]
    if type(example) is not type(real):
        return [f"{where}: {type(example).__name__} in the example, {type(real).__name__} real"]
    return []


def test_the_shape_comparison_sees_a_changed_shape() -> None:
    assert _shape_differences({"a": 1, "b": [{"c": "x"}]}, {"a": 2, "b": [{"c": "y"}]}) == []
    assert _shape_differences({"a": None}, {"a": {"deep": 1}}) == []
    assert _shape_differences({"a": 1}, {"a": "1"}) == ["$.a: int in the example, str real"]
    assert _shape_differences({"a": 1}, {"a": 1, "b": 2}) != []
    assert _shape_differences({"a": [{"c": 1}]}, {"a": [{"c": 1, "d": 2}]}) != []
    assert _shape_differences([1], []) != []
    assert _shape_differences([], [1]) == []


def _real_outputs(cli, tmp_path, smtp) -> dict[str, list[object]]:  # type: ignore[no-untyped-def]
    """The documented commands run on the sample data, by example name."""
    import json

    from tests.helpers import CODE_DEBT, DEBT_FIN, SAMPLE, app_in, submit_args

    def lines(text: str) -> list[object]:
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    out: dict[str, list[object]] = {}
    submitted = cli.json(*submit_args())
    out["submit"] = [submitted]
    app_id = str(submitted["id"])
    from tests.helpers import DOCS

    cli("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    cli("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    extra = cli.json("attach", app_id, DOCS / "bildiris_faktura.png", "--kind", "other")
    doc = str(extra["documents"][-1]["id"])
    out["relabel"] = [cli.json("relabel", doc, "power-of-attorney", "--reason", "Səhv növ")]
    out["detach"] = [cli.json("detach", doc, "--reason", "Başqa abonentin sənədidir")]
    out["review"] = [cli.json("review", app_id)]
    out["approve"] = [cli.json("approve", app_id)]
    pdf = tmp_path / "c.pdf"
    out["print"] = [cli.json("print", app_id, "--out", pdf)]
    out["verify"] = [cli.json("verify", pdf)]
    cli("show", app_id, "--show-pii")  # an audited read
    out["show"] = [cli.json("show", app_id)]
    out["show-as-subscriber"] = [cli.json("show", app_id, "--as-subscriber")]
    out["list"] = [cli.json("list")]
    out["outbox-list"] = [cli.json("outbox", "list")]
    out["stats"] = [cli.json("stats")]
    out["changes"] = [cli.json("changes", "--after", "0")]
    out["audit"] = [cli.json("audit")]
    smtp.handler.plan = ["550 5.1.1 No such mailbox"]
    out["outbox-send"] = [cli.json("outbox", "send")]
    indebted = app_in(cli, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    out["error-debt"] = [cli.json("print", indebted, code=3)]
    out["error"] = [cli.json("show", "999", code=4)]
    batch = cli("review", "998", "999", "--json", code=4)
    out["batch"] = lines(batch.stdout) or lines(batch.stderr)
    bad = SAMPLE / "applications-with-errors.csv"
    out["submit-from-file"] = [
        json.loads(cli("submit", "--from-file", bad, "--json", code=2).stdout)
    ]
    return out


def test_json_examples_match_real_output(loaded, tmp_path, smtp) -> None:  # type: ignore[no-untyped-def]
    """Every example in docs/json.md has the keys and value types of the real output, and
    every documented command has its example."""
    examples = _examples()
    real = _real_outputs(loaded, tmp_path, smtp)
    assert sorted(examples) == sorted(real)
    found = []
    for name, documents in examples.items():
        if len(documents) != len(real[name]):
            found.append(f"{name}: {len(documents)} documents, real {len(real[name])}")
        for example, output in zip(documents, real[name], strict=False):
            found += [f"{name} {d}" for d in _shape_differences(example, output)]
    assert found == []


def _documented() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in [REPO / "README.md", *sorted(DOCS_DIR.glob("*.md"))]
    )


def test_every_setting_is_documented() -> None:
    """Each variable config.py reads has its row in docs/settings.md, and the table names
    no variable the code does not know."""
    from arayis_cli import config

    table = (DOCS_DIR / "settings.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(ARAYIS_[A-Z_]+)`", table, re.M))
    assert set(config.ENV_NAMES) == rows
    assert config.ENV_SERVE_CONFIG in table  # explained as not a setting


def test_every_exit_code_is_documented() -> None:
    from arayis_cli.errors import ExitCode

    table = (DOCS_DIR / "exit-codes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", table, re.M))
    assert rows == {str(int(code)): code.name for code in ExitCode}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        if code not in (ExitCode.OK, ExitCode.INTERRUPTED):
            assert re.search(rf"^\| {int(code)} \|", readme, re.M), f"README lacks exit {code}"


def test_docs_link_only_to_pages_that_exist() -> None:
    text = _documented()
    for target in re.findall(r"\]\(([\w./-]+\.md)\)", text):
        name = target.split("/")[-1]
        assert (DOCS_DIR / name).exists() or (REPO / target).exists(), target


def test_documented_defaults_agree_with_the_code() -> None:
    """The default column of docs/settings.md says what Settings() holds."""
    from arayis_cli.config import Settings

    table = (DOCS_DIR / "settings.md").read_text(encoding="utf-8")
    default = {
        name: row.rsplit("|", 2)[-2].strip()
        for name, row in re.findall(r"^\| `(ARAYIS_[A-Z_]+)` (\|.*\|)$", table, re.M)
    }
    s = Settings()
    assert default["ARAYIS_ORGANISATION"] == f"`{s.organisation}`"
    assert default["ARAYIS_VERIFY_URL"] == f"`{s.verify_url_base}`"
    assert default["ARAYIS_LANG"] == f"`{s.lang}`"
    assert default["ARAYIS_CERTIFICATE_VALIDITY_DAYS"] == str(s.certificate_validity_days)
    assert default["ARAYIS_MAX_DOCUMENT_BYTES"].startswith(f"{s.max_document_bytes} ")
    assert default["ARAYIS_ABONENT_CODE_MIN"] == str(s.abonent_code_min)
    assert default["ARAYIS_ABONENT_CODE_MAX"] == str(s.abonent_code_max)
