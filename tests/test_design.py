"""Design rules checked on the source (docs/developing.md)."""

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
    """`typer.Exit(6)`, `sys.exit(2)`: a number a reader must look up in docs/exit-codes.md."""
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
    """A migration is frozen history: it copies what it needs (docs/developing.md)."""
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
    # The shell is named, not detected from the parent process (which depends on how the
    # test run was started): Typer's own switch for that makes --show-completion take it.
    named = {**base, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run(
        [arayis, "--show-completion", "bash"], capture_output=True, text=True, env=named
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


def test_migration_docstrings_agree_with_their_code() -> None:
    """Each migration's docstring names the revision and parent its code declares, and the
    file name starts with the revision's number (0008/0009 once said "Revises: 0005")."""
    found = []
    for path in sorted(MIGRATIONS.glob("0*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        values = {
            node.target.id: node.value.value  # type: ignore[attr-defined]
            for node in tree.body
            if isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in ("revision", "down_revision")
        }
        doc = ast.get_docstring(tree) or ""
        said = dict(re.findall(r"^(Revision ID|Revises):[ \t]*(\S*)[ \t]*$", doc, re.M))
        if said.get("Revision ID") != values["revision"]:
            found.append(f"{path.name}: Revision ID {said.get('Revision ID')!r}")
        if (said.get("Revises") or None) != values["down_revision"]:
            found.append(f"{path.name}: Revises {said.get('Revises')!r}")
        if not path.name.startswith(values["revision"].split("_")[0] + "_"):
            found.append(f"{path.name}: revision {values['revision']!r}")
    assert found == []


def _imports_anywhere(path: Path) -> set[str]:
    """arayis_cli modules ``path`` imports anywhere: at load time, inside functions (a lazy
    import that works around a circle is still a circle) and under ``TYPE_CHECKING``."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("arayis_cli"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arayis_cli"):
            out.add(node.module or "")
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in _sources() if "migrations" not in p.parts}
    return {
        name: {dep for dep in _imports_anywhere(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle found by a depth-first walk, each as the ring of modules."""
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                walk(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    return found


def test_no_import_circles_even_through_lazy_imports() -> None:
    """Lower modules never reach back up, not even inside a function: the circles
    workflow → services.common → models → workflow, config ↔ i18n ↔ validation and
    certificate.pdf ↔ certificate.printable were each hidden behind a lazy import."""
    graph = _import_graph()
    assert "arayis_cli.certificate.printable" in graph["arayis_cli.certificate.pdf"]
    assert _circles(graph) == []


def test_the_circle_finder_sees_a_lazy_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c", "a"]]


def test_web_and_services_never_import_the_command_line() -> None:
    """The web service and the services stand on their own: what they need from a command
    module (the clock was one) lives outside ``cli/``."""
    graph = _import_graph()
    found = sorted(
        f"{name} → {dep}"
        for name, deps in graph.items()
        if name.startswith(("arayis_cli.web", "arayis_cli.services"))
        for dep in deps
        if dep.startswith("arayis_cli.cli")
    )
    assert "arayis_cli.web.app" in graph and "arayis_cli.services.common" in graph
    assert found == []


#: Files that were never in the repository: the contract is docs/, so code cites that.
OUTSIDE = re.compile(
    r"\bSPEC\b|SPEC\.md|STYLE\.md|\bSTYLE habits?\b|domain\.md|TECH-NOTES|\(§\d|/work/"
)


def _cited_files(text: str) -> list[str]:
    return [m for m in re.findall(r"(?<![\w/.])docs/[\w./-]+", text) if not m.endswith("/")]


def test_no_citation_of_a_file_the_repository_lacks() -> None:
    """A person who clones arayis can follow every pointer in the code: no "SPEC §5.1",
    "STYLE habit 12" or ``domain.md``; a ``docs/…`` path names a page that exists."""
    repo = PACKAGE.parent
    found = []
    for folder in ("arayis_cli", "tests", "benchmarks"):
        for path in sorted((repo / folder).rglob("*")):
            if path.suffix not in (".py", ".md", ".cfg", ".toml") or "locale" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                where = f"{path.relative_to(repo)}:{number}"
                if path != Path(__file__) and OUTSIDE.search(line):
                    found.append(f"{where}: {line.strip()}")
                found += [
                    f"{where}: {cited} does not exist"
                    for cited in _cited_files(line)
                    if not (repo / cited.rstrip(".,:;)")).exists()
                ]
    assert found == []


def test_the_citation_check_sees_a_citation() -> None:
    for line in ["(SPEC §5.1)", "see STYLE habit 12", "domain.md §2", "TECH-NOTES", "(§5.4)"]:
        assert OUTSIDE.search(line), line
    for line in ["STATUS_STYLE = {", "pages.STYLE", "docs/input.md", "issue #12"]:
        assert not OUTSIDE.search(line), line
    assert _cited_files("see docs/json.md: verify") == ["docs/json.md"]
    assert _cited_files("https://www.postgresql.org/docs/current/errcodes.html") == []


#: Services that commit themselves, each with the reason it cannot be the caller's. Every
#: other service works in the session it is given, or takes a session factory (the rule in
#: ``arayis_cli/services/__init__.py``).
OWN_TRANSACTIONS = {
    ("services/keys.py", "_token_new_current"): (
        "a key generated in the PKCS#11 token is destroyed again if its register row does "
        "not commit: the commit and the clean-up are one step"
    ),
    ("services/keys.py", "commit_and_install"): (
        "the staged key file is moved into place only after its register row committed, "
        "and discarded when the commit fails"
    ),
}


def _own_transactions(tree: ast.AST, where: str) -> list[tuple[str, str]]:
    """(file, function) of every ``….commit()`` and ``session_scope(…)`` call in ``tree``."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not function:
                inner = child.name
            if isinstance(child, ast.Call):
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if (isinstance(func, ast.Attribute) and name == "commit") or (
                    name == "session_scope"
                ):
                    found.append((where, inner or "<module>"))
            visit(child, inner)

    visit(tree, "")
    return found


def test_services_leave_the_transaction_to_the_caller() -> None:
    """The caller owns the transaction: no service commits or opens a session, but for the
    few listed above with their reason (a listed one that no longer does it fails too, so
    the list only shrinks)."""
    found: set[tuple[str, str]] = set()
    for path in sorted((PACKAGE / "services").rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        found.update(_own_transactions(ast.parse(path.read_text(encoding="utf-8")), where))
    assert sorted(found - set(OWN_TRANSACTIONS)) == []
    assert sorted(set(OWN_TRANSACTIONS) - found) == []


def test_the_transaction_check_sees_a_commit() -> None:
    code = "def f(s):\n    s.commit()\n\ndef g(url):\n    with session_scope(url):\n        pass\n"
    assert _own_transactions(ast.parse(code), "x.py") == [("x.py", "f"), ("x.py", "g")]
    assert _own_transactions(ast.parse('"""s.commit() in a docstring"""'), "x.py") == []


#: Where the settings are never read: these take what they need as arguments, from the
#: run (``arayis_cli/run.py``) or the web worker (``arayis_cli/web/app.py``).
TAKE_VALUES = ("services", "certificate", "web", "calendar.py", "clock.py")


def _settings_reads(tree: ast.AST) -> list[int]:
    """Lines of every ``settings()`` / ``config.settings()`` call and of every import of
    ``settings`` from ``arayis_cli.config`` in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "settings":
                found.append(node.lineno)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "arayis_cli.config"
            and any(alias.name == "settings" for alias in node.names)
        ):
            found.append(node.lineno)
    return sorted(found)


def test_services_take_values_not_the_settings() -> None:
    """A service, the certificate code, the web service, the calendar and the clock are
    handed the values they need; they never read the process's settings themselves (a
    value read behind the caller's back is state one run leaves for the next)."""
    found = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for top in TAKE_VALUES
        for path in sorted((PACKAGE / top).rglob("*.py") if "." not in top else [PACKAGE / top])
        for line in _settings_reads(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert (PACKAGE / "services" / "printing.py").exists()
    assert found == []


#: Where the settings are built (``Settings.from_env()``), each once for what it serves.
SETTINGS_BUILT = {
    "cli/app.py": "the root callback: once per invocation, the run's settings",
    "web/app.py": "the web worker's Service: once when the worker starts",
    "migrations/env.py": "alembic's own command line, which has no run",
}


def test_settings_are_built_by_the_run_and_the_worker_only() -> None:
    """Everything else is handed them (or values from them): a second reader would be a
    second, possibly different, idea of the settings within one run."""
    found = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "from_env"
            ):
                found.add(path.relative_to(PACKAGE).as_posix())
    assert found == set(SETTINGS_BUILT)


def test_the_settings_check_sees_a_read() -> None:
    code = (
        "from arayis_cli.config import settings\n"
        "def f():\n    return settings().organisation\n"
        "def g(config):\n    return config.settings().now\n"
        "def h(run):\n    return run.settings.now\n"
    )
    assert _settings_reads(ast.parse(code)) == [1, 3, 5]
