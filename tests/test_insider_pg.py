"""Insiders in ``psql`` (PostgreSQL): what a tester did by hand as a clerk or an approver.

Each attempt is raw SQL sent by a real login holding one role (``t_support`` …
``t_admin``, made by the accountability tests' fixture), and must be refused unless the
login's role is meant to do it. Then the tool must still work for everyone: a counter
wound back, a refused statement or a locked table never leaves later commands failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CODE, CODE_DEBT, DEBT_FIN, DOCS, PG_URL, Cli, submit_args

# The accountability tests' prepared database (roles installed, one login per role).
from tests.helpers.logins import (  # noqa: F401  (fixtures)
    LOGINS,
    NEW,
    READY,
    WORKING,
    _as,
    _plain,
    fresh,
    office_key,
    prepared,
    shared,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ARAYIS_TEST_POSTGRES_URL not set"),
]

#: What the tester tried from ``psql``: the statement, and the logins the server lets do it.
#: In the prepared database, e-mail 1 (application 1's) has bounced; the others are queued.
ATTEMPTS: dict[str, tuple[str, set[str]]] = {
    # The feed counter wound back: every later status change used to fail with exit 1.
    "feed_counter_back": ("UPDATE counter SET value = 0 WHERE name = 'feed'", {"t_admin"}),
    "feed_counter_on": ("UPDATE counter SET value = value + 1 WHERE name = 'feed'", {"t_admin"}),
    "certificate_counter_back": (
        "UPDATE counter SET value = 0 WHERE name LIKE 'certificate-%'",
        {"t_admin"},
    ),
    "feed_row": (
        "INSERT INTO status_change (application_id, status, at, position)"
        " VALUES (3, 'completed', now(), 999)",
        {"t_admin"},
    ),
    "feed_row_moved": ("UPDATE status_change SET position = position + 1000", {"t_admin"}),
    "tally": ("UPDATE tally SET n = n + 100", {"t_admin"}),
    "tally_row": (
        "INSERT INTO tally (key, shard, n) VALUES ('status:completed', 7, 50)",
        {"t_admin"},
    ),
    # Phishing through the official mail: a queued email's recipient and body rewritten.
    "email_rewritten": (
        "UPDATE outbox_message SET to_addr = 'pay@evil.example', body = 'Pay here'"
        " WHERE status = 'pending'",
        {"t_admin"},
    ),
    "email_recipient": (
        "UPDATE outbox_message SET to_addr = 'pay@evil.example' WHERE id = 1",
        {"t_admin"},
    ),
    "email_subject": ("UPDATE outbox_message SET subject = 'Borc' WHERE id = 2", {"t_admin"}),
    "email_marked_sent": (
        "UPDATE outbox_message SET status = 'sent', sent_at = now() WHERE status = 'pending'",
        {"t_approver", "t_admin", "t_mailer"},  # the sending roles record deliveries
    ),
    "email_queued_elsewhere": (
        "INSERT INTO outbox_message (application_id, kind, to_addr, subject, body, status,"
        " attempts, created_at) VALUES (3, 'notice', 'pay@evil.example', 'Borc', 'Pay here',"
        " 'pending', 0, now())",
        {"t_admin"},
    ),
    # An application in progress: its FIN and contact email changed.
    "fin_and_email": (
        f"UPDATE application SET fin = 'AAAAAAA', email = 'x@evil.example' WHERE id = {WORKING}",
        {"t_admin"},
    ),
    "email_only": (
        f"UPDATE application SET email = 'x@evil.example' WHERE id = {WORKING}",
        {"t_admin"},
    ),
    "decision_time": (
        f"UPDATE application SET decided_at = now() - interval '1 year' WHERE id = {READY}",
        {"t_admin"},
    ),
    # History and audit rows with free content.
    "history_row": (
        "INSERT INTO event (application_id, at, actor, action, from_status, to_status, detail)"
        " VALUES (3, now(), 'someone', 'review', 'new', 'in_progress', 'free text')",
        {"t_admin"},
    ),
    "history_decision": (
        "INSERT INTO event (application_id, at, actor, action) VALUES (3, now(), 'x', 'approve')",
        {"t_admin"},
    ),
    "audit_row": (
        "INSERT INTO audit_log (at, actor, kind, command, detail)"
        " VALUES (now(), 'someone', 'policy', 'policy set', '{\"four_eyes\": \"off\"}')",
        {"t_admin"},
    ),
    # The ledger: an entry is never changed (billing adds an adjustment instead).
    "ledger_amount": (
        "UPDATE ledger_entry SET amount_qepik = amount_qepik + 500 WHERE id = 1",
        {"t_admin"},
    ),
    "ledger_reference": (
        "UPDATE ledger_entry SET reference = reference || '-X' WHERE id = 1",
        {"t_admin"},
    ),
    # Whole tables locked: every other operator waits.
    **{
        f"lock_{table}": (f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", {"t_admin"})
        for table in (
            "application",
            "counter",
            "outbox_message",
            "status_change",
            "tally",
            "abonent",
            "ledger_entry",
        )
    },
    "lock_share_ledger": ("LOCK TABLE ledger_entry IN SHARE MODE", {"t_admin"}),
    "lock_event": ("LOCK TABLE event IN ACCESS EXCLUSIVE MODE", set()),  # append-only for all
    "lock_share": ("LOCK TABLE application IN SHARE MODE", {"t_admin"}),
}
CASES = [(what, login) for what in ATTEMPTS for login in LOGINS]


def _try(url: str, sql: str, *, commit: bool = False) -> str:
    """Run one statement as the login of ``url``; the server's refusal, or "" if it ran."""
    import psycopg

    with psycopg.connect(_plain(url)) as conn:
        try:
            conn.execute(sql)
            if commit:
                conn.commit()  # checks deferred to COMMIT run here
        except psycopg.errors.InsufficientPrivilege as exc:
            conn.rollback()
            return str(exc).splitlines()[0]
        conn.rollback()
    return ""


@pytest.mark.parametrize(("what", "login"), CASES, ids=[f"{w}-{lg}" for w, lg in CASES])
def test_the_server_refuses_the_insider(what: str, login: str, shared: str) -> None:
    sql, allowed = ATTEMPTS[what]
    refused = _try(_as(shared, login), sql)
    if login in allowed:
        assert refused == "", refused
    else:
        assert refused, f"{login} could: {sql}"


def _normal_day(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """submit → attach → review (clerk) → approve → print (another login): all exit 0."""
    clerk = Cli(_as(url, "t_clerk"), monkeypatch)
    approver = Cli(_as(url, "t_approver"), monkeypatch)
    app_id = clerk.json(*submit_args(code=CODE_DEBT, fin=DEBT_FIN))["id"]
    clerk("attach", str(app_id), str(DOCS / "sexsiyyet_vesiqesi.jpg"), "--kind", "id-card")
    clerk("attach", str(app_id), str(DOCS / "mulkiyyet_cixarisi.pdf"), "--kind", "ownership")
    clerk("review", str(app_id))
    approver("approve", str(app_id))
    Cli(_as(url, "t_billing"), monkeypatch)("pay", CODE_DEBT, "23.80", "--reference", "T-I-1")
    approver("print", str(app_id), "--out", str(tmp_path / "c.pdf"))
    approver("outbox", "send", "--dry-run")
    return int(app_id)


def _feed(url: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    changes = Cli(_as(url, "t_support"), monkeypatch).json("changes", "--after", "0")
    return [c["cursor"] for c in changes["changes"]]


def test_the_tool_works_for_everyone_after_every_attempt(
    fresh: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every attempt is made and committed where it is allowed (the admin's too: an owner
    repairing by hand); a normal day's work then succeeds and the feed stays in order."""
    for what, (sql, _allowed) in ATTEMPTS.items():
        if what.startswith("lock_"):
            continue  # a lock ends with its transaction; the refusals are above
        for login in LOGINS:
            _try(_as(fresh, login), sql, commit=True)
    app_id = _normal_day(fresh, monkeypatch, tmp_path)
    cursors = _feed(fresh, monkeypatch)
    assert cursors == sorted(set(cursors))
    steps = [(a, t, who) for a, t, who in _history(fresh, str(app_id)) if t is not None]
    assert steps == [
        ("submit", "new", "t_clerk"),
        ("review", "in_progress", "t_clerk"),
        ("approve", "completed", "t_approver"),
    ]


def test_a_counter_wound_back_by_hand_leaves_no_exit_1(
    fresh: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The owner winds the feed counter back: status changes go on, positions stay unique."""
    before = _feed(fresh, monkeypatch)
    assert _try(fresh, "UPDATE counter SET value = 0 WHERE name = 'feed'", commit=True) == ""
    _normal_day(fresh, monkeypatch, tmp_path)
    after = _feed(fresh, monkeypatch)
    assert after[: len(before)] == before
    assert after == sorted(set(after)) and len(after) == len(before) + 3


def test_a_certificate_counter_wound_back_by_hand_clashes_with_nothing(
    fresh: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The owner winds the certificate counter back: the next number follows the register."""
    wind = "UPDATE counter SET value = 0 WHERE name LIKE 'certificate-%'"
    assert _try(fresh, wind, commit=True) == ""
    approver = Cli(_as(fresh, "t_approver"), monkeypatch)
    number = approver.json("print", READY, "--out", str(tmp_path / "c.pdf"))["certificate_number"]
    assert number.startswith("AR-2026-000002-")


def _history(url: str, app_id: str) -> list[tuple[str, str | None, str]]:
    import psycopg

    with psycopg.connect(_plain(url)) as conn:
        return [
            (a, t, who)
            for a, t, who in conn.execute(
                "SELECT action, to_status, actor FROM event WHERE application_id = %s ORDER BY id",
                (int(app_id),),
            )
        ]


def test_four_eyes_in_the_database(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An approver who reviewed an application cannot approve it by a direct UPDATE."""
    Cli(fresh, monkeypatch)("policy", "set", "four-eyes", "on")
    Cli(_as(fresh, "t_approver"), monkeypatch)("review", NEW)
    sql = f"UPDATE application SET status = 'completed', version = version + 1 WHERE id = {NEW}"
    assert "four eyes" in _try(_as(fresh, "t_approver"), sql, commit=True)
    reject = f"UPDATE application SET status = 'rejected' WHERE id = {NEW}"
    assert "four eyes" in _try(_as(fresh, "t_approver"), reject, commit=True)
    assert _history(fresh, NEW)[-1] == ("review", "in_progress", "t_approver")


def test_a_decision_without_its_email_is_refused(fresh: str) -> None:
    """An approver (not the reviewer) setting `completed` from psql must also queue the
    decision's email in that transaction: checked at COMMIT."""
    sql = f"UPDATE application SET status = 'completed' WHERE id = {WORKING}"
    refused = _try(_as(fresh, "t_approver"), sql, commit=True)
    assert "without its email" in refused
    assert _history(fresh, WORKING)[-1][0] == "review"


def test_a_direct_status_update_writes_its_history_and_feed(
    fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a login may move a status, the database writes the history (its own login)
    and the feed row itself: a direct UPDATE cannot skip them."""
    before = _feed(fresh, monkeypatch)
    sql = f"UPDATE application SET status = 'in_progress' WHERE id = {NEW}"
    assert _try(_as(fresh, "t_clerk"), sql, commit=True) == ""
    assert _history(fresh, NEW)[-1] == ("review", "in_progress", "t_clerk")
    assert len(_feed(fresh, monkeypatch)) == len(before) + 1


def test_a_bounced_email_is_retried_to_a_corrected_address(
    fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one way a clerk changes a recipient: `outbox retry --to`, to the contact address."""
    clerk = Cli(_as(fresh, "t_clerk"), monkeypatch)
    clerk("outbox", "retry", "1", "--to", "duzgun@example.az", "--reason", "Ünvan düzəldildi")
    shown = clerk.json("outbox", "show", "1", "--show-pii")
    assert shown["to"] == "duzgun@example.az" and shown["status"] == "pending"


def test_billing_imports_and_pays_through_its_column_grants(
    fresh: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Billing's UPDATE is column-level (it can LOCK neither abonent nor ledger_entry, see
    above), and everything billing does still works through its login: an abonent import
    that adds one and changes another's owner, a ledger import, a payment and its rerun."""
    billing = Cli(_as(fresh, "t_billing"), monkeypatch)
    abonents = tmp_path / "abonents.csv"
    abonents.write_text(
        "code,group,owner_name,owner_fin,address\n"
        f'{CODE},I,Süleymanov Zaur Ağa oğlu,6HV4DVC,"Bakı şəhəri, Xətai rayonu, mənzil 87"\n'
        "0012345670,I,Yeni Abonent,AAAAAAA,Bakı şəhəri\n",
        encoding="utf-8",
    )
    report = billing.json("abonent", "import", abonents)
    assert (report["created"], report["updated"], report["failed"]) == (1, 1, [])
    assert billing.json("abonent", "import", abonents)["existing"] == 2  # nothing twice
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "abonent_code,date,kind,amount,reference\n"
        "0012345670,2026-11-01,charge,9.40,BF-T-1\n"
        f"{CODE},2026-01-01,charge,12.60,BF-202601-1001\n",  # already loaded
        encoding="utf-8",
    )
    report = billing.json("ledger", "import", ledger)
    assert (report["created"], report["existing"], report["failed"]) == (1, 1, [])
    paid = billing.json("pay", "0012345670", "9.40", "--reference", "T-P-1")
    assert (paid["created"], paid["debt"]) == (True, "0.00")
    assert billing.json("pay", "0012345670", "9.40", "--reference", "T-P-1")["created"] is False
    assert Cli(_as(fresh, "t_admin"), monkeypatch).json("db", "check")["ok"] is True
