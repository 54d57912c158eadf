"""The suite's own rules: shared test code lives in tests/helpers/, never in a test module
or in conftest.py, and the ``unchanged`` digest sees any change of any row of any table."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.helpers import REPO, Cli
from tests.helpers.database import Digest, libpq, sqlite_path

TESTS = REPO / "tests"


def _is_test_module(module: str) -> bool:
    """``tests.cli.test_verify``, ``tests.conftest``: modules pytest collects or plugs in."""
    last = module.rsplit(".", 1)[-1]
    return module.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_no_test_module_imports_another_or_conftest() -> None:
    """`from tests.cli.test_verify import _issue` makes one test module another's library
    (and collects its tests twice under some runners); conftest is pytest's, not a module."""
    found = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in _imports(path)
        if _is_test_module(name)
    ]
    assert found == [], "import shared test code from tests.helpers instead"


def test_the_check_sees_such_imports(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from tests.conftest import CODE\n"
        "import tests.unit.test_pdf\n"
        "from tests.cli import test_verify\n"
        "from tests.helpers import CODE as OK\n",
        encoding="utf-8",
    )
    assert [n for n in _imports(sample) if _is_test_module(n)] == [
        "tests.conftest",
        "tests.unit.test_pdf",
        "tests.cli.test_verify",
    ]


def test_conftest_defines_fixtures_not_shared_names() -> None:
    """Anything public at conftest's top level is a fixture; the rest is private."""
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    public = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            fixture = any("fixture" in ast.unparse(d) for d in getattr(node, "decorator_list", []))
            if not fixture:
                public.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            public += [ast.unparse(t) for t in targets if not ast.unparse(t).startswith("_")]
    assert public == [], "move shared constants and helpers to tests/helpers/"


def _execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        with conn:
            conn.execute(sql)
        conn.close()
        return
    import psycopg

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(sql)


def test_the_digest_sees_every_kind_of_change(loaded: Cli) -> None:
    """One cell, one row more or less, a table more: each changes the digest; an identical
    read does not. (Tables other than these are covered alike: the query lists them all.)"""
    digest = Digest(loaded.url)
    first = digest()
    assert digest() == first
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        tables = [
            name
            for name in conn.dialect.get_table_names(conn)
            if conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() > 0
        ]
    engine.dispose()
    assert {"abonent", "ledger_entry", "alembic_version"} <= set(tables)
    seen = first
    steps = [
        "UPDATE abonent SET address = address || '.' WHERE code = '0011276516'",
        'INSERT INTO abonent (code, "group", owner_name, owner_fin, address, created_at)'
        " SELECT '9999999999', \"group\", owner_name, owner_fin, address, created_at"
        " FROM abonent WHERE code = '0011276516'",
        "DELETE FROM abonent WHERE code = '9999999999'",
        "UPDATE alembic_version SET version_num = version_num || 'x'",
        "CREATE TABLE scratch (n integer)",  # on SQLite: seen through sqlite_master
    ]
    for sql in steps:
        _execute(loaded.url, sql)
        now = digest()
        assert now != seen, sql
        seen = now


# -- libraries pinned below their next release --------------------------------------------

# Each dependency with an upper bound, and what of that library the project relies on. A
# new release must be checked against it before the bound moves.
PINNED = {
    "typer": "cli/clickwords.py reaches into typer._click (Click as vendored by typer 0.29)",
    "fpdf2": "certificate/fontcache.py relies on fpdf2 2.8 internals",
    "ruff": "tests/test_quality.py: a new ruff minor adds lint rules and restyles code",
    "python-dateutil": "a major release may change parsing",
    "uvicorn": "web/protocol.py subclasses uvicorn's HttpToolsProtocol (0.55 internals)",
    "segno": "certificate/qr.py reads segno.consts (1.6 tables) to draw segno's very symbol",
}


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


def test_every_upper_bound_says_why_and_holds() -> None:
    """The installed version of each pinned library is inside its bound (a venv upgraded by
    hand past the bound fails here with the reason, not somewhere deep in the suite)."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    bounded = {}
    for line in _requirements():
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        if any(spec.operator in ("<", "<=", "~=", "==") for spec in req.specifier):
            bounded[req.name] = req
    assert set(bounded) == set(PINNED), "say in PINNED why a library is held back"
    for name, req in bounded.items():
        installed = version(name)
        assert req.specifier.contains(installed, prereleases=True), (
            f"{name} {installed} is outside {req.specifier}: {PINNED[name]}"
        )
