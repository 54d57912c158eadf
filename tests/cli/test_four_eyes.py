"""Four eyes: when on, whoever took an application into work may not decide it.

On SQLite the actor is the operator name; on PostgreSQL it is the login, so two operator
names typed under one login are one actor (different logins: tests/test_accountability_pg.py).
"""

from __future__ import annotations

from typing import Any

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in, new_app


def _is_pg(cli: Cli) -> bool:
    return cli.url.startswith("postgresql")


def test_policy_off_by_default_and_switched_by_admin(loaded: Cli) -> None:
    assert loaded.json("policy", "show") == {
        "four_eyes": False,
        "changed_at": None,
        "changed_by": None,
    }
    shown = loaded.json("policy", "set", "four-eyes", "on")
    assert shown["four_eyes"] is True and shown["changed_at"] == "2026-11-25T10:00:00+04:00"
    assert loaded.json("policy", "show")["four_eyes"] is True
    assert "Four eyes (four-eyes): on" in loaded("policy", "show").stdout
    loaded("policy", "set", "four-eyes", "OFF")
    assert loaded.json("policy", "show")["four_eyes"] is False
    # Every change is in the append-only audit log, with the value before it.
    changes = [e for e in loaded.json("audit") if e["kind"] == "policy"]
    assert [(e["command"], e["detail"]) for e in changes] == [
        ("policy set", {"four_eyes": "on", "was": "off"}),
        ("policy set", {"four_eyes": "off", "was": "on"}),
    ]
    assert changes[0]["operator"] == "leyla"


def test_policy_set_refuses_nonsense(loaded: Cli, unchanged: Any) -> None:
    with unchanged():
        assert loaded.json("policy", "set", "four-eyes", "maybe", code=2)["error"] == (
            "invalid_input"
        )
        loaded("policy", "set", "three-eyes", "on", code=2)


def test_reviewer_may_not_approve_or_reject(loaded: Cli, unchanged: Any) -> None:
    loaded("policy", "set", "four-eyes", "on")
    app_id = new_app(loaded)
    loaded("review", app_id)  # leyla took it into work
    with unchanged():
        refused = loaded.json("approve", app_id, code=7)
        assert refused["error"] == "not_permitted" and "four-eyes" in refused["message"]
        loaded("approve", app_id, "--override", "səbəb", code=7)
        loaded("reject", app_id, "--reason", "Sənəd oxunmur", code=7)
        assert "four-eyes" in loaded("reject", app_id, "--reason", "x", code=7).stderr
    if _is_pg(loaded):
        # One login is one actor, whatever name is typed: nobody can prove two people.
        with unchanged():
            loaded("--operator", "aysel", "approve", app_id, code=7)
        return
    approved = loaded.json("--operator", "aysel", "approve", app_id)
    assert approved["status"] == "completed" and approved["operator"] == "aysel"


def test_unreviewed_application_may_be_rejected(loaded: Cli) -> None:
    loaded("policy", "set", "four-eyes", "on")
    app_id = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    assert loaded.json("reject", app_id, "--reason", "Sənəd yoxdur")["status"] == "rejected"


def test_off_keeps_the_single_operator_path(loaded: Cli) -> None:
    assert loaded.json("show", app_in(loaded, "completed"))["status"] == "completed"
    loaded("policy", "set", "four-eyes", "on")
    loaded("policy", "set", "four-eyes", "off")
    assert loaded.json("show", app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN))[
        "status"
    ] == ("completed")


def test_roles_are_for_postgresql(cli: Cli) -> None:
    if _is_pg(cli):
        return  # tests/test_accountability_pg.py
    assert "PostgreSQL" in cli.json("db", "roles", code=2)["message"]
