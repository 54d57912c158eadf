"""PII read audit: every unmasked output of personal data is recorded — who,
when, which command, which application or abonent — and `arayis audit` lists it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    CODE,
    CODE_CREDIT,
    CODE_DEBT,
    CREDIT_FIN,
    DEBT_FIN,
    DOCS,
    Cli,
    app_in,
    new_app,
)


def _reads(cli: Cli, *args: str) -> list[tuple[str, int | None, str | None]]:
    return [
        (e["command"], e["application_id"], e["abonent_code"])
        for e in cli.json("audit", *args)
        if e["kind"] == "pii_read"
    ]


def test_masked_output_records_nothing(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    for args in (["show", app_id], ["list"], ["outbox", "list"], ["abonent", "show", CODE]):
        loaded(*args)
        loaded.json(*args)
    assert loaded.json("audit") == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "{a}"], [("show", "{a}", None)]),
        (["show", "{a}", "--json"], [("show", "{a}", None)]),
        (["list"], [("list", "{a}", None), ("list", "{b}", None)]),
        (["list", "--format", "csv"], [("list", "{a}", None), ("list", "{b}", None)]),
        (["list", "--json", "--status", "new"], [("list", "{b}", None)]),
        (["outbox", "list", "--application", "{a}"], [("outbox list", "{a}", None)]),
        (["outbox", "send", "--dry-run", "--json"], [("outbox send", "{b}", None)]),
        (["abonent", "show", CODE], [("abonent show", None, CODE)]),
        (["review", "{b}"], [("review", "{b}", None)]),
        (["reject", "{b}", "--reason", "Sənəd oxunmur"], [("reject", "{b}", None)]),
        (
            ["attach", "{b}", str(DOCS / "etibarname.pdf"), "--kind", "other"],
            [("attach", "{b}", None)],
        ),
    ],
)
def test_every_unmasked_output_is_recorded(
    loaded: Cli, args: list[str], expected: list[tuple[str, str | None, str | None]]
) -> None:
    a = app_in(loaded, "completed")
    b = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    loaded("outbox", "send", "--dry-run", "--json")  # masked: not recorded
    ids = {"{a}": a, "{b}": b}
    loaded(*[ids.get(x, x) for x in args], "--show-pii")
    want = [(cmd, None if app is None else int(ids[app]), code) for cmd, app, code in expected]
    if args[0] == "outbox" and args[1] == "send":  # the dry run lists both pending emails
        want = [("outbox send", int(a), None), ("outbox send", int(b), None)]
    assert sorted(_reads(loaded), key=str) == sorted(want, key=str)
    entry = loaded.json("audit")[0]
    assert entry["at"] == "2026-11-25T10:00:00+04:00" and entry["operator"] == "leyla"
    expected_actor = "leyla" if loaded.url.startswith("sqlite") else "postgres"
    assert entry["actor"] == expected_actor  # PostgreSQL: the login, whatever --operator says


def test_decisions_and_intake_record_their_output(loaded: Cli) -> None:
    app_id = loaded.json(
        "submit",
        "--abonent",
        CODE_DEBT,
        "--fin",
        DEBT_FIN,
        "--phone",
        "050 123 45 67",
        "--email",
        "a@example.az",
        "--show-pii",
    )["id"]
    assert _reads(loaded) == [("submit", app_id, None)]
    loaded(
        "abonent",
        "add",
        "0012345678",
        "--group",
        "I",
        "--owner-name",
        "Ad Soyad",
        "--owner-fin",
        "5ZT8KPA",
        "--address",
        "Bakı",
        "--show-pii",
    )
    approved = app_in(loaded, "in_progress")
    loaded("approve", approved, "--show-pii", "--json")
    assert _reads(loaded)[1:] == [
        ("abonent add", None, "0012345678"),
        ("approve", int(approved), None),
    ]


def test_batch_modes_record_each_application(loaded: Cli) -> None:
    one = new_app(loaded)
    two = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    loaded("review", one, two, "--show-pii", "--json")
    assert _reads(loaded) == [("review", int(one), None), ("review", int(two), None)]


def test_audit_filters_and_table(loaded: Cli, tmp_path: Path) -> None:
    a = app_in(loaded, "completed")
    b = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    loaded("show", a, "--show-pii")
    loaded.now("2026-11-27T09:00:00+04:00")
    loaded("--operator", "aysel", "show", b, "--show-pii")
    assert _reads(loaded, "--application", b) == [("show", int(b), None)]
    assert [e["application_id"] for e in loaded.json("audit", "--since", "2026-11-26")] == [int(b)]
    if loaded.url.startswith("sqlite"):  # the operator is the actor there
        assert _reads(loaded, "--actor", "aysel") == [("show", int(b), None)]
    assert loaded.json("audit", "--actor", "nobody") == []
    assert len(loaded.json("audit", "--limit", "1")) == 1
    table = loaded("audit").stdout
    assert "show" in table and "aysel" in table
    assert "The audit log is empty." in loaded("audit", "--actor", "nobody").stdout
    loaded("audit", "--since", "yesterday", code=2)
    loaded("audit", "--application", "0", code=2)
    loaded("audit", "--application", str(2**63), code=2)
    assert loaded.json("audit", "--application", str(2**63 - 1)) == []


def test_operator_text_is_literal_in_the_audit_table(loaded: Cli) -> None:
    a = app_in(loaded, "completed")
    loaded("--operator", "[bold]x[/]", "show", a, "--show-pii")
    assert "[bold]x[/]" in loaded("audit").stdout


def test_unusable_operator_name_is_refused_before_pii_is_shown(loaded: Cli) -> None:
    a = app_in(loaded, "completed")
    result = loaded("--operator", "x" * 101, "show", a, "--show-pii", code=2)
    assert "6HV4DVC" not in result.stdout and loaded.json("audit") == []
