"""Accountability: the guard every command passes, and policy, audit.

:func:`guard_all` wraps every registered command once, at start-up: before the command
touches anything it checks the login's roles against :data:`arayis_cli.access.COMMANDS`
(exit 7 when they do not allow it) and opens the audit scope that records unmasked
personal data shown while it runs. On SQLite neither costs a query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from arayis_cli.access import OWNER_ONLY, permitted, required
from arayis_cli.cli.output import JSON_OPT, actor, command, console, emit_json, now, state
from arayis_cli.cli.params import count_option, id_option
from arayis_cli.i18n import N_, _

policy_app = typer.Typer(help=N_("Policy kept in the database: four eyes."), no_args_is_help=True)


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql:", "postgresql+", "postgres:"))


def authorize(command_path: str) -> None:
    """Refuse (exit 7) what the login's roles do not allow, before anything is touched.

    A superuser or the database owner acts as admin; until ``arayis db roles`` has been
    run on the database every login may do everything (one-login deployments).
    """
    if not required(command_path) or not _is_postgres(state.db_url):
        return
    from arayis_cli.db import get_engine
    from arayis_cli.errors import NotPermitted
    from arayis_cli.services.roles import login_access

    # A server that cannot be reached is exit 8, classified by the command wrapper.
    with get_engine(state.db_url).connect() as conn:
        access = login_access(conn)
    if not access.installed or permitted(command_path, access.roles, owner=access.admin):
        return
    needed = " or ".join(sorted(r.value for r in required(command_path)))
    if command_path in OWNER_ONLY:
        needed = "the database owner (it changes the schema)"
    held = ", ".join(sorted(r.value for r in access.roles)) or "no arayis role"
    raise NotPermitted(
        _(
            "login {access_login} may not run '{command_path}': it needs {needed} (the login has "
            "{held}); ask an administrator"
        ).format(access_login=access.login, command_path=command_path, needed=needed, held=held)
    )


def _guarded(path: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    from arayis_cli.services.audit import collecting

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        # A local command (demo) and `verify --offline` use no configured database.
        if not required(path) or kwargs.get("offline"):
            return fn(*args, **kwargs)
        authorize(path)
        if kwargs.get("show_pii"):
            actor()  # the name the audit will record is checked before anything is shown
        with collecting(path, operator=actor, clock=now, url=state.db_url):
            return fn(*args, **kwargs)

    run.arayis_command = path  # type: ignore[attr-defined]
    return command(run)


def guard_all(app: typer.Typer, prefix: str = "") -> None:
    """Put every registered command (groups included) behind :func:`authorize`.

    Call once, after every command group has been registered.
    """
    from typer.main import get_command_name

    for info in app.registered_commands:
        callback = info.callback
        if callback is None or hasattr(callback, "arayis_command"):
            continue
        name = info.name or get_command_name(callback.__name__)
        info.callback = _guarded(f"{prefix}{name}", callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_all(group.typer_instance, prefix=f"{prefix}{group.name} ")


@command
def policy_set(
    name: str = typer.Argument(..., help=N_("The policy: four-eyes.")),
    value: str = typer.Argument(..., help=N_("on or off.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Switch a policy (admin): four-eyes on forbids the reviewer to approve or reject."""
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services import policy

    if name.strip().lower().replace("_", "-") != "four-eyes":
        raise InvalidInput(_("unknown policy; the one policy is four-eyes"))
    on = policy.parse_switch(value)
    who = actor()
    with session_scope(state.db_url) as session:
        data = policy.set_four_eyes(session, on, now=now(), actor=who)
    _show_policy(data, as_json=as_json)


@command
def policy_show(as_json: bool = JSON_OPT) -> None:
    """Show the policy in force (four eyes), who set it and when."""
    from arayis_cli.db import session_scope
    from arayis_cli.services import policy

    with session_scope(state.db_url, write=False) as session:
        data = policy.show(session)
    _show_policy(data, as_json=as_json)


def _show_policy(data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    from rich.text import Text

    from arayis_cli.cli.render import date_az

    state_text = _("on") if data["four_eyes"] else _("off")
    line = Text(_("Four eyes (four-eyes): {state}").format(state=state_text))
    if data["changed_by"]:
        line.append(f" — {data['changed_by']}, {date_az(data['changed_at'])}")
    console().print(line)


@command
def audit(
    actor_: str = typer.Option(None, "--actor", help=N_("Only this actor (login or operator).")),
    application: int = id_option("--application", help=N_("Only this application.")),
    since: str = typer.Option(None, "--since", help=N_("On or after this date (YYYY-MM-DD).")),
    limit: int = count_option(None, "--limit", help=N_("At most N entries.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Who saw unmasked personal data (--show-pii), and policy changes; oldest first."""
    from arayis_cli.db import session_scope
    from arayis_cli.errors import InvalidInput
    from arayis_cli.services.audit import entries
    from arayis_cli.validation import parse_date

    if application is not None and not 1 <= application <= 2**63 - 1:
        raise InvalidInput(_("--application takes an application number (1 to 2^63-1)"))
    if limit is not None and limit < 0:
        raise InvalidInput(_("--limit must not be negative"))
    day = parse_date(since, "--since") if since else None
    with session_scope(state.db_url, write=False) as session:
        rows = [
            _audit_json(e)
            for e in entries(
                session,
                actor=actor_.strip() if actor_ else None,
                application_id=application,
                since=day,
                limit=limit,
            )
        ]
    if as_json:
        emit_json(rows)
        return
    _audit_table(rows)


def _audit_json(entry: Any) -> dict[str, Any]:
    import json

    from arayis_cli.formats import iso_baku

    return {
        "id": entry.id,
        "at": iso_baku(entry.at),
        "kind": entry.kind,
        "actor": entry.actor,
        "operator": entry.operator_name,
        "command": entry.command,
        "application_id": entry.application_id,
        "abonent_code": entry.abonent_code,
        "detail": json.loads(entry.detail) if entry.detail else None,
    }


def _audit_table(rows: list[dict[str, Any]]) -> None:
    """Four columns, so that it fits an 80-column terminal; --json has every field."""
    from datetime import datetime

    from rich.text import Text

    if not rows:
        console().print(Text(_("The audit log is empty."), style="dim"))
        return
    from arayis_cli.cli.render import DETAIL_LABELS, ON_OFF, Col, code_label, fitted

    cells = []
    for r in rows:
        who = r["actor"]
        if r["operator"] and r["operator"] != who:
            who += f" ({r['operator']})"
        if r["kind"] == "policy":
            what = "; ".join(
                f"{code_label(DETAIL_LABELS, k)}: {code_label(ON_OFF, str(v))}"
                for k, v in (r["detail"] or {}).items()
            )
        elif r["application_id"] is not None:
            what = _("application №{id}").format(id=r["application_id"])
        else:
            what = _("abonent {code}").format(code=r["abonent_code"])
        when = datetime.fromisoformat(r["at"]).strftime("%d.%m.%Y %H:%M")
        cells.append([Text(c) for c in (when, who, r["command"], what)])
    cols = [
        Col(_("Time")),
        Col(_("Who"), wrap=True, min_wrap=10),
        Col(_("Command"), wrap=True, min_wrap=10),
        Col(_("What"), wrap=True, min_wrap=16),
    ]
    console().print(fitted(_("Audit"), cols, cells))


def register(app: typer.Typer) -> None:
    policy_app.command("set")(policy_set)
    policy_app.command("show")(policy_show)
    app.add_typer(policy_app, name="policy")
    app.command("audit")(audit)
