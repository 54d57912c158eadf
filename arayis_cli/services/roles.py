"""PostgreSQL roles: what each group role may do, enforced by the database itself.

``install`` (``arayis db roles``) creates the group roles of :mod:`arayis_cli.access`,
grants each the tables (UPDATE: the columns) it needs and no more, and adds row-level checks
(triggers) that grants cannot express: which role may move an application to which status,
four eyes, that a certificate is only issued for a completed application, that a queued
email's recipient and text stay as queued, that counters only go up one step. History and
audit rows are append-only for everyone but the owner (migration 0009); the history of a
status change, the portal feed and the tallies are written by the database itself
(migration 0013). Running it again changes nothing; after ``db upgrade`` it is run again so
that new tables get their grants. A new role is one entry of :data:`GRANTS` (and of
:data:`SENDERS` if it sends mail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arayis_cli.access import INCLUDES, Role
from arayis_cli.i18n import _

APPEND_ONLY = ("event", "audit_log")
#: The hash chain is written only by the database's own SECURITY DEFINER functions (at
#: commit, from row triggers): the roles that read every table (support, admin) may read
#: both (``db check`` counts what is left unsealed), no role may write either.
CHAIN_PRIVILEGES = {"chain_link": "SELECT", "chain_pending": "SELECT"}

#: An application's columns a status change writes (beside ``status``); nothing else of an
#: application changes, but its contact email when a bounced email is retried.
DECISION_COLUMNS = (
    "status, version, operator, rejection_reason, override_reason, decided_at,"
    " decision_working_days, decided_late"
)
#: An email's delivery state: what sending it changes. Recipient, subject and body are fixed
#: once queued (the recipient only ever becomes the application's corrected contact email).
DELIVERY_COLUMNS = (
    "status, attempts, last_error, next_attempt_at, sent_at, message_id, claimed_at, claimed_by"
)

#: An abonent's columns an import may change (``group`` is an SQL keyword: quoted).
ABONENT_COLUMNS = '"group", owner_name, owner_fin, address'

#: Privileges of each role on top of what it inherits: one entry per role, one line per
#: table, "*" for every table of the schema. UPDATE is granted on named columns only: a
#: table-level UPDATE would also let the login ``LOCK TABLE … ACCESS EXCLUSIVE`` and change
#: columns the tool never changes. Counters, tallies, the feed and status history have no
#: grant at all: the database writes them (triggers of migration 0013, SECURITY DEFINER).
GRANTS: dict[Role, dict[str, str]] = {
    # Support reads; a verification it runs (or the web service's login) is logged.
    Role.SUPPORT: {"*": "SELECT", "audit_log": "INSERT", "certificate_verification": "INSERT"},
    Role.CLERK: {
        # A column grant only so that a decision can lock the row (SELECT … FOR UPDATE);
        # changing it is refused by arayis_guard_abonent to all but billing and admin.
        "abonent": "UPDATE (code)",
        "application": f"INSERT, UPDATE ({DECISION_COLUMNS}, email)",
        # History other than status changes (attach, print, email retry); status rows are
        # the database's own (arayis_guard_event refuses them from a client).
        "event": "INSERT",
        # Retry puts a failed email back in the queue, to the corrected contact address.
        "outbox_message": (
            "INSERT, UPDATE (to_addr, status, next_attempt_at, claimed_at, claimed_by)"
        ),
        "document": "INSERT",
        "document_blob": "INSERT",
    },
    Role.APPROVER: {
        # UPDATE of two columns only: a renewal marks the replaced certificate superseded.
        "certificate": "INSERT, UPDATE (superseded_at, superseded_by)",
        "certificate_pdf": "INSERT",
        "signing_key": "INSERT",
        # Certificate numbers: only up (arayis_guard_counter), never the feed counter.
        "counter": "INSERT, UPDATE (value)",
        "outbox_message": f"UPDATE ({DELIVERY_COLUMNS})",
    },
    Role.BILLING: {
        # An import updates an abonent's group, owner and address (never its code); a
        # payment locks the row (SELECT … FOR SHARE) against a print's debt check.
        "abonent": f"SELECT, INSERT, UPDATE ({ABONENT_COLUMNS})",
        # A ledger entry is never changed (a correction is an adjustment entry): the column
        # grant only lets a payment lock an entry by its reference (SELECT … FOR UPDATE);
        # arayis_guard_ledger refuses the change itself to all but admin.
        "ledger_entry": "SELECT, INSERT, UPDATE (reference)",
        "alembic_version": "SELECT",
        "policy": "SELECT",
        "audit_log": "INSERT",
    },
    Role.ADMIN: {"*": "SELECT, INSERT, UPDATE, DELETE"},
    # Job roles: exactly what one unattended service needs (`outbox send`, `serve`).
    Role.MAILER: {
        "alembic_version": "SELECT",
        "outbox_message": f"SELECT, UPDATE ({DELIVERY_COLUMNS})",
        # The outbox guard compares a recipient with the application's contact address.
        "application": "SELECT (id, email)",
    },
    Role.WEB: {
        "alembic_version": "SELECT",
        "certificate": "SELECT",
        "signing_key": "SELECT",
        # SELECT too: the ORM's bulk insert reads the new rows back (RETURNING).
        "certificate_verification": "SELECT, INSERT",
        # verify compares a certificate's row with its last link in the hash chain.
        "chain_link": "SELECT",
    },
    # The portal API's login (arayis serve): submit, attach, status, print; nothing else.
    # UPDATE only on a column nobody reads, for the row locks (SELECT … FOR UPDATE).
    Role.PORTAL: {
        "alembic_version": "SELECT",
        "abonent": "SELECT, UPDATE (code)",
        "ledger_entry": "SELECT",
        "application": "SELECT, INSERT, UPDATE (version)",
        # SELECT where an INSERT returns the new row's id.
        "event": "SELECT, INSERT",
        "outbox_message": "SELECT, INSERT",
        "document": "SELECT, INSERT",
        "document_blob": "INSERT",
        # The feed is read (GET /changes), never written: the database writes it, and the
        # history of status changes. Certificate numbers only go up (arayis_guard_counter).
        "status_change": "SELECT",
        "counter": "SELECT, INSERT, UPDATE (value)",
        "certificate": "SELECT, INSERT",
        "certificate_pdf": "SELECT, INSERT",
        "signing_key": "SELECT, INSERT",
        # The responsible person the certificate names (the staff register).
        "staff": "SELECT",
        # /verify runs in the same process and logs each check.
        "certificate_verification": "INSERT",
        "api_client": "SELECT",
        "api_call": "SELECT, INSERT",
        "api_idempotency": "SELECT, INSERT",
        # verify (the same process's /verify) reads the hash chain.
        "chain_link": "SELECT",
    },
}

#: The roles that send mail (``outbox send``): only they change an email's delivery state
#: beyond putting a failed one back in the queue.
SENDERS: tuple[Role, ...] = (Role.APPROVER, Role.MAILER)


def _senders_sql() -> str:
    checks = " OR ".join(f"pg_has_role(session_user, '{r.value}', 'MEMBER')" for r in SENDERS)
    return f"""
CREATE OR REPLACE FUNCTION arayis_may_send() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT {checks or "false"} $$;
"""


GUARDS = """
CREATE OR REPLACE FUNCTION arayis_acts_as_admin() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
        OR pg_has_role(session_user,
            (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')
        OR pg_has_role(session_user, 'arayis_admin', 'MEMBER')
$$;

-- True inside the database's own SECURITY DEFINER functions (they run as the tables' owner):
-- the rows they write are the database's, not a client's.
CREATE OR REPLACE FUNCTION arayis_by_database(rel oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION arayis_refuse(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'arayis: % refused for login %', what, session_user
        USING ERRCODE = '42501';
END
$$;

-- The transition table of arayis_cli/workflow.py, with the role each move needs; the
-- columns a move may write; four eyes; the contact email only with a bounced email to retry.
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
    probe := NEW;
    probe.email := OLD.email;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        probe.status := OLD.status;
        probe.version := OLD.version;
        probe.operator := OLD.operator;
        probe.rejection_reason := OLD.rejection_reason;
        probe.override_reason := OLD.override_reason;
        probe.decided_at := OLD.decided_at;
        probe.decision_working_days := OLD.decision_working_days;
        probe.decided_late := OLD.decided_late;
    END IF;
    IF probe IS DISTINCT FROM OLD THEN
        PERFORM arayis_refuse('changing application ' || OLD.id || ' outside a status change');
    END IF;
    IF NEW.email IS DISTINCT FROM OLD.email AND NOT EXISTS (
            SELECT 1 FROM outbox_message
            WHERE application_id = OLD.id AND status IN ('failed', 'sending')
              AND to_addr = OLD.email) THEN
        PERFORM arayis_refuse('changing the email of application ' || OLD.id
                              || ' (only to retry a bounced email)');
    END IF;
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
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
    IF NEW.status IN ('completed', 'rejected')
        AND EXISTS (SELECT 1 FROM policy WHERE key = 'four_eyes' AND value = 'on')
        AND EXISTS (SELECT 1 FROM event WHERE application_id = OLD.id
                    AND action = 'review' AND actor = session_user) THEN
        PERFORM arayis_refuse('four eyes: ' || session_user || ' reviewed application '
                              || OLD.id || ', another person must decide it');
    END IF;
    RETURN NEW;
END
$$;

-- A decision is mailed to the subscriber in its own transaction (checked at COMMIT): a
-- status set from psql without the decision's email is refused.
CREATE OR REPLACE FUNCTION arayis_guard_decision_mailed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM outbox_message
                   WHERE application_id = NEW.id AND kind <> 'received') THEN
        PERFORM arayis_refuse('deciding application ' || NEW.id
                              || ' without its email to the subscriber');
    END IF;
    RETURN NULL;
END
$$;

-- History: a client writes other events (attach, print, email retry); the rows of a status
-- change are the database's own (arayis_status_changed).
CREATE OR REPLACE FUNCTION arayis_guard_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() OR arayis_by_database(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF NEW.from_status IS NOT NULL OR NEW.to_status IS NOT NULL
        OR NEW.action IN ('submit', 'review', 'approve', 'reject', 'status') THEN
        PERFORM arayis_refuse('a history row of a status change (the database writes those)');
    END IF;
    RETURN NEW;
END
$$;

-- The audit log: a client records the personal data it showed; policy changes are admin's.
CREATE OR REPLACE FUNCTION arayis_guard_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() OR NEW.kind = 'pii_read' THEN
        RETURN NEW;
    END IF;
    PERFORM arayis_refuse('an audit row of kind ' || NEW.kind);
    RETURN NULL;
END
$$;

-- Counters: certificate numbers only go up; the feed counter is the database's.
CREATE OR REPLACE FUNCTION arayis_guard_counter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() OR arayis_by_database(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF NEW.name = 'feed' OR (TG_OP = 'UPDATE' AND OLD.name = 'feed') THEN
        PERFORM arayis_refuse('writing the feed counter (the database keeps it)');
    ELSIF TG_OP = 'INSERT' AND NEW.value <> 0 THEN
        PERFORM arayis_refuse('a counter that does not start at 0');
    ELSIF TG_OP = 'UPDATE' AND (NEW.name <> OLD.name OR NEW.value <= OLD.value) THEN
        PERFORM arayis_refuse('counter ' || OLD.name || ' moved back');
    END IF;
    RETURN NEW;
END
$$;

-- The outbox: an email goes to the application's contact address; once queued, its
-- recipient (but to the corrected contact address), subject and body are fixed; its
-- delivery state is changed by the sending roles, and by others only back to the queue.
CREATE OR REPLACE FUNCTION arayis_guard_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe outbox_message%ROWTYPE;
    contact text := (SELECT email FROM application WHERE id = NEW.application_id);
BEGIN
    IF arayis_acts_as_admin() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.to_addr IS DISTINCT FROM contact OR NEW.status <> 'pending'
            OR NEW.attempts <> 0 OR NEW.sent_at IS NOT NULL OR NEW.claimed_by IS NOT NULL THEN
            PERFORM arayis_refuse('an email that is not queued to the application''s contact');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.application_id IS DISTINCT FROM OLD.application_id OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.subject IS DISTINCT FROM OLD.subject OR NEW.body IS DISTINCT FROM OLD.body
        OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        PERFORM arayis_refuse('changing email ' || OLD.id || ' once queued');
    END IF;
    IF NEW.to_addr IS DISTINCT FROM OLD.to_addr
        AND (OLD.status NOT IN ('pending', 'failed', 'sending')
             OR NEW.to_addr IS DISTINCT FROM contact) THEN
        PERFORM arayis_refuse('the recipient of email ' || OLD.id);
    END IF;
    IF arayis_may_send() THEN
        RETURN NEW;
    END IF;
    probe := NEW;
    probe.to_addr := OLD.to_addr;
    IF probe IS DISTINCT FROM OLD AND NOT (
            OLD.status IN ('failed', 'sending') AND NEW.status = 'pending'
            AND NEW.attempts = OLD.attempts AND NEW.sent_at IS NOT DISTINCT FROM OLD.sent_at
            AND NEW.message_id IS NOT DISTINCT FROM OLD.message_id
            AND NEW.last_error IS NOT DISTINCT FROM OLD.last_error) THEN
        PERFORM arayis_refuse('the delivery state of email ' || OLD.id);
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

CREATE OR REPLACE FUNCTION arayis_guard_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_acts_as_admin() THEN
        RETURN NEW;
    END IF;
    PERFORM arayis_refuse('changing ledger entry ' || OLD.id);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS arayis_ledger_guard ON ledger_entry;
CREATE TRIGGER arayis_ledger_guard BEFORE UPDATE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_ledger();
DROP TRIGGER IF EXISTS arayis_abonent_guard ON abonent;
CREATE TRIGGER arayis_abonent_guard BEFORE UPDATE ON abonent
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_abonent();
DROP TRIGGER IF EXISTS arayis_application_guard ON application;
CREATE TRIGGER arayis_application_guard BEFORE INSERT OR UPDATE ON application
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_application();
DROP TRIGGER IF EXISTS arayis_certificate_guard ON certificate;
CREATE TRIGGER arayis_certificate_guard BEFORE INSERT ON certificate
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_certificate();
DROP TRIGGER IF EXISTS arayis_application_mailed ON application;
CREATE CONSTRAINT TRIGGER arayis_application_mailed AFTER UPDATE OF status ON application
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'rejected') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION arayis_guard_decision_mailed();
DROP TRIGGER IF EXISTS arayis_event_guard ON event;
CREATE TRIGGER arayis_event_guard BEFORE INSERT ON event
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_event();
DROP TRIGGER IF EXISTS arayis_audit_log_guard ON audit_log;
CREATE TRIGGER arayis_audit_log_guard BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_audit();
DROP TRIGGER IF EXISTS arayis_counter_guard ON counter;
CREATE TRIGGER arayis_counter_guard BEFORE INSERT OR UPDATE ON counter
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_counter();
DROP TRIGGER IF EXISTS arayis_outbox_guard ON outbox_message;
CREATE TRIGGER arayis_outbox_guard BEFORE INSERT OR UPDATE ON outbox_message
    FOR EACH ROW EXECUTE FUNCTION arayis_guard_outbox();
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


def _cluster_wide(session: Any, sql: str) -> bool:
    """Run ``sql`` on roles or memberships, which belong to the whole cluster: the advisory
    lock of ``install`` is per database, so an install in another database may be making
    the same role at this moment. Its duplicate (unique_violation on pg_authid or
    pg_auth_members, or duplicate_object) means the thing exists: False, nothing changed
    here; True when this statement made it."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with session.begin_nested():  # a savepoint: the refusal leaves the rest standing
            session.execute(text(sql))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("23505", "42710"):
            return False
        raise
    return True


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
        if exists is None and _create_role(session, role.value):
            created.append(role.value)
    for parent, children in INCLUDES.items():
        for child in children:
            # Granted once: granting again needs CREATEROLE, which `db upgrade` run by an
            # owner without it does not have (the roles exist by then).
            if not run(
                text("SELECT pg_has_role(:p, :c, 'MEMBER')"),
                {"p": parent.value, "c": child.value},
            ).scalar():
                _cluster_wide(session, f'GRANT "{child.value}" TO "{parent.value}"')
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
    run(text(_senders_sql()))
    run(text(GUARDS))
    return {"roles": [r.value for r in Role], "created": created, "tables": len(tables)}


def _create_role(session: Any, name: str) -> bool:
    """CREATE ROLE (True when this call made it; False when another database's install made
    it meanwhile), or what to do when this login may not (it needs CREATEROLE once)."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    try:
        return _cluster_wide(session, f'CREATE ROLE "{name}" NOLOGIN')
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":
            raise
        from arayis_cli.errors import NotPermitted

        login = session.execute(text("SELECT session_user")).scalar_one()
        raise NotPermitted(
            _(
                "login {login} may not create the role {role}: a superuser must run once "
                "`ALTER ROLE {login} CREATEROLE;` (or run `arayis db roles` once as a "
                "superuser), then run `arayis db roles` again"
            ).format(login=login, role=name)
        ) from None


def ensure_grants(url: str) -> bool:
    """After ``db upgrade``: re-apply the grants when ``db roles`` was run on this database
    (new tables get theirs); True when they were applied. Nothing to do on SQLite or before
    ``db roles``: roles are the cluster's, whether they were set up is this database's."""
    from arayis_cli.db import session_scope

    if not url.startswith(("postgresql", "postgres:")):
        return False
    with session_scope(url) as session:
        if not installed(session):
            return False
        install(session)
    return True


def installed(session: Any) -> bool:
    """Has ``install`` been run on this database (PostgreSQL)?"""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return login_access(session.connection()).installed
