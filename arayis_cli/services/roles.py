"""PostgreSQL roles: what each group role may do, enforced by the database itself.

``install`` (``arayis db roles``) creates the group roles of :mod:`arayis_cli.access`,
grants each the tables it needs and no more, and adds row-level checks (triggers) that
grants cannot express: which role may move an application to which status, and that a
certificate is only issued for a completed application. History and audit rows are
append-only for everyone but the owner (migration 0009). Running it again changes nothing;
after ``db upgrade`` it is run again so that new tables get their grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arayis_cli.access import INCLUDES, Role
from arayis_cli.i18n import _

APPEND_ONLY = ("event", "audit_log")
#: The hash chain is written only by the database's own SECURITY DEFINER functions (at
#: commit, from row triggers): every role may read the links, no role may write either.
CHAIN_PRIVILEGES = {"chain_link": "SELECT", "chain_pending": ""}

#: Privileges of each role on top of what it inherits. "*" is every table of the schema.
GRANTS: dict[Role, dict[str, str]] = {
    # Support reads; a verification it runs (or the web service's login) is logged.
    Role.SUPPORT: {"*": "SELECT", "audit_log": "INSERT", "certificate_verification": "INSERT"},
    Role.CLERK: {
        # UPDATE on abonent only so that a decision can lock the row (SELECT … FOR UPDATE);
        # changing it is refused by arayis_guard_abonent to all but billing and admin.
        "abonent": "UPDATE",
        "application": "INSERT, UPDATE",
        "event": "INSERT",
        # UPDATE: outbox retry puts a failed email back in the queue (to a corrected address).
        "outbox_message": "INSERT, UPDATE",
        "document": "INSERT",
        "document_blob": "INSERT",
        "tally": "INSERT, UPDATE",
        # Every status change feeds the portal: a row, and its position from the counter
        # (which also numbers certificates — a clerk can at most leave a gap there).
        "status_change": "INSERT, UPDATE",
        "counter": "INSERT, UPDATE",
    },
    Role.APPROVER: {
        "certificate": "INSERT",
        "signing_key": "INSERT",
    },
    Role.BILLING: {
        "abonent": "SELECT, INSERT, UPDATE",
        "ledger_entry": "SELECT, INSERT, UPDATE",
        "alembic_version": "SELECT",
        "policy": "SELECT",
        "audit_log": "INSERT",
    },
    Role.ADMIN: {"*": "SELECT, INSERT, UPDATE, DELETE"},
}

GUARDS = """
CREATE OR REPLACE FUNCTION arayis_acts_as_admin() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
        OR pg_has_role(session_user,
            (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')
        OR pg_has_role(session_user, 'arayis_admin', 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION arayis_refuse(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'arayis: % refused for login %', what, session_user
        USING ERRCODE = '42501';
END
$$;

-- The transition table of arayis_cli/workflow.py, with the role each move needs.
CREATE OR REPLACE FUNCTION arayis_guard_application() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe application%ROWTYPE;
BEGIN
    IF arayis_acts_as_admin() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'new' THEN
            PERFORM arayis_refuse('a new application with status ' || NEW.status);
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IN ('completed', 'rejected') THEN
        -- Nothing leaves a final status; only the contact email may be corrected.
        probe := NEW;
        probe.email := OLD.email;
        IF probe IS DISTINCT FROM OLD THEN
            PERFORM arayis_refuse('changing a ' || OLD.status || ' application');
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        IF (OLD.status = 'new' AND NEW.status = 'in_progress')
            OR (OLD.status IN ('new', 'in_progress') AND NEW.status = 'rejected') THEN
            IF NOT pg_has_role(session_user, 'arayis_clerk', 'MEMBER') THEN
                PERFORM arayis_refuse('status ' || NEW.status);
            END IF;
        ELSIF OLD.status = 'in_progress' AND NEW.status = 'completed' THEN
            IF NOT pg_has_role(session_user, 'arayis_approver', 'MEMBER') THEN
                PERFORM arayis_refuse('status completed');
            END IF;
        ELSE
            PERFORM arayis_refuse('status ' || OLD.status || ' -> ' || NEW.status);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION arayis_guard_certificate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM application
                   WHERE id = NEW.application_id AND status = 'completed') THEN
        PERFORM arayis_refuse('a certificate for an application that is not completed');
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION arayis_guard_abonent() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() OR pg_has_role(session_user, 'arayis_billing', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    PERFORM arayis_refuse('changing abonent ' || OLD.code);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS arayis_abonent_guard ON abonent;
CREATE TRIGGER arayis_abonent_guard BEFORE UPDATE ON abonent
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_abonent();
DROP TRIGGER IF EXISTS arayis_application_guard ON application;
CREATE TRIGGER arayis_application_guard BEFORE INSERT OR UPDATE ON application
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_application();
DROP TRIGGER IF EXISTS arayis_certificate_guard ON certificate;
CREATE TRIGGER arayis_certificate_guard BEFORE INSERT ON certificate
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_certificate();
"""


@dataclass
class LoginAccess:
    """What the server says about the login this process connected as."""

    login: str
    admin: bool  # superuser or member of the database owner: acts as admin
    installed: bool  # `arayis db roles` has been run on this database
    roles: frozenset[Role] = field(default_factory=frozenset)


ACCESS_SQL = """
SELECT session_user,
       COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
         OR pg_has_role(session_user,
              (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER'),
       CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'arayis_support')
            THEN COALESCE(has_table_privilege('arayis_support',
                                              to_regclass('application'), 'SELECT'), false)
            ELSE false END,
       ARRAY(SELECT rolname::text FROM pg_roles
             WHERE rolname LIKE 'arayis\\_%' AND pg_has_role(session_user, oid, 'MEMBER'))
"""


def login_access(conn: Any) -> LoginAccess:
    """Ask the server who we are and which arayis roles we hold (one round trip)."""
    from sqlalchemy import text

    login, admin, installed, names = conn.execute(text(ACCESS_SQL)).one()
    known = {r.value: r for r in Role}
    return LoginAccess(
        login=login,
        admin=bool(admin),
        installed=bool(installed),
        roles=frozenset(known[n] for n in names if n in known),
    )


def install(session: Any) -> dict[str, Any]:
    """Create the roles, grants and guards (idempotent, one transaction)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import arayis_cli.models  # noqa: F401  (registers the tables)

    if session.get_bind().dialect.name != "postgresql":
        from arayis_cli.errors import InvalidInput

        raise InvalidInput(_("roles apply to PostgreSQL only; SQLite is one terminal"))
    run = session.execute
    run(text("SELECT pg_advisory_xact_lock(727275)"))  # two installs at once: one waits
    tables = sorted([*SQLModel.metadata.tables, "alembic_version"])
    created = []
    for role in Role:
        exists = run(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role.value}).first()
        if exists is None:
            run(text(f'CREATE ROLE "{role.value}" NOLOGIN'))
            created.append(role.value)
    for parent, children in INCLUDES.items():
        for child in children:
            run(text(f'GRANT "{child.value}" TO "{parent.value}"'))
    roles = ", ".join(f'"{r.value}"' for r in Role)
    schema = run(text("SELECT current_schema()")).scalar_one()
    # Start from nothing so that running it again after a change leaves exactly the table.
    quoted = ", ".join(f'"{t}"' for t in tables)
    run(text(f"REVOKE ALL ON {quoted} FROM {roles}"))
    run(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {roles}'))
    for role, grants in GRANTS.items():
        for table, privileges in grants.items():
            targets = tables if table == "*" else [table]
            for target in targets:
                privs = privileges
                if role is Role.ADMIN and target in APPEND_ONLY:
                    privs = "SELECT, INSERT"  # history and audit: never changed, never removed
                if target in CHAIN_PRIVILEGES:
                    privs = CHAIN_PRIVILEGES[target]
                    if not privs:
                        continue
                run(text(f'GRANT {privs} ON "{target}" TO "{role.value}"'))
    run(text(GUARDS))
    return {"roles": [r.value for r in Role], "created": created, "tables": len(tables)}


def installed(session: Any) -> bool:
    """Has ``install`` been run on this database (PostgreSQL)?"""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return login_access(session.connection()).installed
