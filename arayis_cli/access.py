"""Who may run what (roles on PostgreSQL): the role of each command, in one table.

Like the transition table, this is data and nothing else. The CLI checks it before a
command touches anything (:func:`arayis_cli.cli.access.authorize`), the README shows it,
and the PostgreSQL grants of :mod:`arayis_cli.services.roles` enforce the same split in
the database itself. Roles apply on PostgreSQL only; SQLite is one terminal.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Group roles granted to personal logins (``GRANT arayis_clerk TO leyla``)."""

    SUPPORT = "arayis_support"  # reads everything; --show-pii reads are audited
    CLERK = "arayis_clerk"  # support + submit, attach, review, reject
    APPROVER = "arayis_approver"  # clerk + approve, print, outbox send
    BILLING = "arayis_billing"  # abonents, ledger, payments
    ADMIN = "arayis_admin"  # everything: revoke, keys, policy, db
    # Job roles, for the logins of unattended services (least privilege, nothing inherited):
    MAILER = "arayis_mailer"  # outbox send, and nothing else
    WEB = "arayis_web"  # serve: read the register, write the verification log
    PORTAL = "arayis_portal"  # the portal API's login: submit, attach, status, print

    @property
    def short(self) -> str:
        return self.value.removeprefix("arayis_")


#: Role inheritance, granted in the database too (``GRANT arayis_clerk TO arayis_approver``).
INCLUDES: dict[Role, tuple[Role, ...]] = {
    Role.CLERK: (Role.SUPPORT,),
    Role.APPROVER: (Role.CLERK,),
    Role.ADMIN: (Role.APPROVER, Role.BILLING),
}

#: A command that never uses the configured database (``demo`` has its own).
LOCAL: tuple[Role, ...] = ()

#: Commands that change the schema, grants or triggers: PostgreSQL lets only the owner of
#: the tables (or a superuser) do that, so the tool asks for the owner, not arayis_admin.
OWNER_ONLY: frozenset[str] = frozenset({"db upgrade", "db roles"})

#: Command path → the roles that may run it (any one of them, or a role including it).
#: A command missing here needs ``arayis_admin``: new commands are refused until placed.
COMMANDS: dict[str, tuple[Role, ...]] = {
    "list": (Role.SUPPORT,),
    "show": (Role.SUPPORT,),
    "verify": (Role.SUPPORT,),
    "stats": (Role.SUPPORT,),
    "changes": (Role.SUPPORT,),
    "serve": (Role.SUPPORT, Role.WEB, Role.PORTAL),
    "outbox list": (Role.SUPPORT,),
    "outbox show": (Role.SUPPORT,),
    "policy show": (Role.SUPPORT,),
    "audit": (Role.SUPPORT,),
    "abonent show": (Role.SUPPORT, Role.BILLING),
    "submit": (Role.CLERK,),
    "attach": (Role.CLERK,),
    "detach": (Role.CLERK,),
    "relabel": (Role.CLERK,),
    "review": (Role.CLERK,),
    "reject": (Role.CLERK,),
    "outbox retry": (Role.CLERK,),
    "approve": (Role.APPROVER,),
    "print": (Role.APPROVER,),
    "outbox send": (Role.APPROVER, Role.MAILER),
    "abonent add": (Role.BILLING,),
    "abonent import": (Role.BILLING,),
    "ledger import": (Role.BILLING,),
    "pay": (Role.BILLING,),
    "revoke": (Role.ADMIN,),
    "keys init": (Role.ADMIN,),
    "keys export": (Role.ADMIN,),
    "keys rotate": (Role.ADMIN,),
    "keys retire": (Role.ADMIN,),
    "policy set": (Role.ADMIN,),
    "db upgrade": (Role.ADMIN,),
    "db check": (Role.ADMIN,),
    "register head": (Role.SUPPORT,),
    "db roles": (Role.ADMIN,),
    "db backup": (Role.ADMIN,),
    "api-key create": (Role.ADMIN,),
    "api-key list": (Role.ADMIN,),
    "api-key revoke": (Role.ADMIN,),
    "staff add": (Role.ADMIN,),
    "staff list": (Role.ADMIN,),
    "staff remove": (Role.ADMIN,),
    "demo": LOCAL,
}


def holders(role: Role) -> frozenset[Role]:
    """``role`` and every role that includes it (an approver holds clerk and support)."""
    found = {role}
    changed = True
    while changed:
        changed = False
        for parent, children in INCLUDES.items():
            if parent not in found and found.intersection(children):
                found.add(parent)
                changed = True
    return frozenset(found)


def required(command: str) -> tuple[Role, ...]:
    return COMMANDS.get(command, (Role.ADMIN,))


def allowed_roles(command: str) -> frozenset[Role]:
    """Every role whose members may run ``command``."""
    return frozenset().union(*(holders(r) for r in required(command)))


def permitted(
    command: str, memberships: frozenset[Role] | set[Role], *, owner: bool = False
) -> bool:
    """May a login run ``command``? ``memberships``: its arayis roles, inheritance resolved;
    ``owner``: it is a superuser or the database owner (who acts as admin)."""
    needed = required(command)
    if not needed or owner:
        return True
    if command in OWNER_ONLY:
        return False
    return bool(set(needed) & set(memberships))
