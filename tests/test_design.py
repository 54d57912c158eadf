"""Design rules checked on the source (STYLE.md habits 13–16; issue #12)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import arayis_cli

PACKAGE = Path(arayis_cli.__file__).parent
MIGRATIONS = PACKAGE / "migrations" / "versions"


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_exit_codes_only_through_the_enum() -> None:
    """`typer.Exit(6)`, `sys.exit(2)`: a number a reader must look up in SPEC §4."""
    literal = re.compile(r"\b(?:Exit|exit)\(\s*-?\d")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if literal.search(line)
    ]
    assert found == []


def test_exit_calls_name_an_exit_code() -> None:
    """Every `Exit(...)`/`sys.exit(...)` argument is an ExitCode, never a bare number."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name not in ("Exit", "exit"):
                continue
            if any(isinstance(n, ast.Constant) and type(n.value) is int for n in ast.walk(node)):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_migrations_import_no_live_code() -> None:
    """A migration is frozen history: it copies what it needs (STYLE.md habit 16)."""
    offenders = []
    for path in sorted(MIGRATIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["(relative)"]
            offenders += [
                f"{path.name}:{node.lineno} {name}"
                for name in names
                if name == "(relative)" or name.split(".")[0] == "arayis_cli"
            ]
    assert len(list(MIGRATIONS.glob("0*.py"))) >= 8  # 0001–0009 (no 0006)
    assert offenders == []


def _imports_at_load(path: Path) -> set[str]:
    """arayis_cli modules imported when ``path`` is loaded (module level, not inside
    functions and not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("arayis_cli"))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arayis_cli"):
                out.add(node.module or "")
                # `from arayis_cli.services import changes` imports a submodule
                out.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if "TYPE_CHECKING" not in test:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return out


def test_no_import_cycles() -> None:
    """No two arayis_cli modules import each other at load time, directly or around a ring
    (the errors ↔ money cycle was one)."""
    modules = {_module_name(p): p for p in _sources() if "migrations" not in p.parts}
    graph = {
        name: {dep for dep in _imports_at_load(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                walk(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert "arayis_cli.errors" in graph and "arayis_cli.money" in graph
    assert cycles == []


def test_workflow_facts_agree() -> None:
    """The facts next to the transition table cover every status and every email kind."""
    from arayis_cli.errors import Conflict
    from arayis_cli.models import OPEN_SQL
    from arayis_cli.services.emails import KINDS
    from arayis_cli.workflow import (
        DECISION_EMAILS,
        FINAL_STATUSES,
        OPEN_STATUSES,
        PRINT,
        RECEIVED_EMAIL,
        TRANSITIONS,
        Action,
        Status,
        decision_email,
        require,
    )

    assert set(OPEN_STATUSES) | set(FINAL_STATUSES) == set(Status)
    assert not set(OPEN_STATUSES) & set(FINAL_STATUSES)
    assert {start for start, _ in TRANSITIONS} == set(OPEN_STATUSES)
    assert set(DECISION_EMAILS) == set(FINAL_STATUSES)
    assert sorted([RECEIVED_EMAIL, *sum(DECISION_EMAILS.values(), ())]) == sorted(KINDS)
    for status in FINAL_STATUSES:
        assert {decision_email(status, debt=d) for d in (False, True)} == set(
            DECISION_EMAILS[status]
        )
    assert OPEN_SQL == "status IN ('new', 'in_progress')"
    assert require(Status.NEW, Action.REVIEW, app_id=1) is Status.IN_PROGRESS
    assert require(Status.COMPLETED, PRINT, app_id=1) is Status.COMPLETED
    for status, action in [(Status.NEW, PRINT), (Status.REJECTED, Action.APPROVE)]:
        try:
            require(status, action, app_id=7)
        except Conflict as exc:
            assert exc.message.startswith(f"application 7 is {status.label} ({status.value}): ")
        else:
            raise AssertionError(f"{status} allowed {action}")


def test_commands_hold_no_sql_and_write_no_files() -> None:
    """cli/ parses, calls a service and renders (sqlite-utils' cli.py): queries and file
    writes live in services/."""
    forbidden = re.compile(
        r"\bselect\(|\.execute\(|\bfunc\.|from sqlalchemy import (?!exc)|"
        r"from arayis_cli\.models import|write_bytes\(|write_text\(|\.open\(\S*[\"']w"
    )
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((PACKAGE / "cli").glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if forbidden.search(line)
    ]
    assert found == []


def test_no_assert_statements_in_the_package() -> None:
    """`python -O` drops asserts: an invariant that matters raises a proper error."""
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_sending_without_a_connection_is_a_connection_failure() -> None:
    """Was an `assert` (gone under -O: an AttributeError, exit 1)."""
    from email.message import EmailMessage

    import pytest

    from arayis_cli.services.mailer import ConnectionFailure, SmtpSender, SmtpSettings

    settings = SmtpSettings("smtp", "localhost", 25, None, None, "arayis@example.az")
    with pytest.raises(ConnectionFailure):
        SmtpSender(settings).send(EmailMessage())  # never connected


def test_shell_completion_as_typer_users_expect(tmp_path: Path) -> None:
    """--show-completion prints the script; the shell's request lists commands and options."""
    import os
    import subprocess
    import sys

    base = {**os.environ, "ARAYIS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    arayis = str(Path(sys.executable).with_name("arayis"))  # the console script, as installed
    script = subprocess.run(
        [arayis, "--show-completion", "bash"], capture_output=True, text=True, env=base
    )
    assert script.returncode == 0
    assert "_ARAYIS_COMPLETE=complete_bash" in script.stdout

    def complete(words: str) -> list[str]:
        env = {
            **base,
            "_ARAYIS_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        done = subprocess.run([arayis], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("arayis li") == ["list"]
    assert complete("arayis list --stat") == ["--status"]
    assert {"list", "send", "retry"} <= set(complete("arayis outbox "))
