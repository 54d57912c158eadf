"""insider: on PostgreSQL the database writes history, the feed and the tallies itself

Revision ID: 0013_insider
Revises: 0012_office_keys
Create Date: 2026-12-06

A login that may change an application's status (a clerk, an approver) used to write the
history row, the portal feed row, the feed counter and the decision tallies itself, so from
``psql`` it could skip them, invent them or wind the counter back. From this revision on,
on PostgreSQL:

- ``arayis_status_submitted`` (AFTER INSERT ON application, per statement: imports are
  bulk) and ``arayis_status_changed`` (AFTER UPDATE OF status, per row) write the history
  row (``event``; actor = the authenticated login), the feed row (``status_change``) and,
  for a decision, the tallies. The client only tells the time,
  the display name and the detail through transaction-local settings (``arayis.at``,
  ``arayis.operator``, ``arayis.detail``); it cannot skip or invent a status change's rows.
- ``arayis_feed_place`` (a constraint trigger deferred to COMMIT, queued once per
  transaction) gives the transaction's
  feed rows their positions under the ``feed`` counter's row lock, from whichever is
  higher of the counter and the highest position already placed: a counter wound back by
  hand can no longer make every later status change fail.
- Both are SECURITY DEFINER functions owned by the tables' owner, with a fixed search_path,
  so the roles need no write privilege on ``event`` status rows, ``status_change``,
  ``tally`` or the feed counter (``arayis db roles`` revokes them).

SQLite is one terminal: nothing changes there (the tool writes those rows itself).
The SQL is copied here on purpose: a migration does the same thing in five years.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_insider"
down_revision: str | None = "0012_office_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLY_SHARDS = 64

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION arayis_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    at_ timestamptz := COALESCE(
        NULLIF(current_setting('arayis.at', true), '')::timestamptz, now());
    detail_ text := NULLIF(current_setting('arayis.detail', true), '');
    action_ text;
    shard_ int := pg_backend_pid() % {shards};
BEGIN
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    IF NEW.status = 'in_progress' THEN
        action_ := 'review';
    ELSIF NEW.status = 'completed' THEN
        action_ := 'approve';
    ELSIF NEW.status = 'rejected' THEN
        action_ := 'reject';
    ELSE
        action_ := 'status';
    END IF;
    -- The detail belongs to one status change: the next one starts without it.
    PERFORM set_config('arayis.detail', '', true);
    INSERT INTO event (application_id, at, actor, operator_name, action, from_status,
                       to_status, detail)
    VALUES (NEW.id, at_, session_user,
            COALESCE(NULLIF(current_setting('arayis.operator', true), ''), session_user),
            action_, OLD.status, NEW.status, detail_);
    INSERT INTO status_change (position, application_id, status, at)
    VALUES (NULL, NEW.id, NEW.status, at_);
    IF NEW.status IN ('completed', 'rejected') AND NEW.decision_working_days IS NOT NULL THEN
        INSERT INTO tally (key, shard, n)
        VALUES ('status:' || NEW.status, shard_, 1),
               ('decided:' || NEW.decision_working_days || ':'
                   || CASE WHEN NEW.decided_late THEN 1 ELSE 0 END, shard_, 1)
        ON CONFLICT (key, shard) DO UPDATE SET n = tally.n + 1;
    END IF;
    RETURN NULL;
END
$$;

-- Submissions come in bulk (an import): one statement's rows at once, not row by row.
CREATE OR REPLACE FUNCTION arayis_status_submitted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    at_ timestamptz := COALESCE(
        NULLIF(current_setting('arayis.at', true), '')::timestamptz, now());
    operator_ text := COALESCE(NULLIF(current_setting('arayis.operator', true), ''),
                               session_user);
BEGIN
    INSERT INTO event (application_id, at, actor, operator_name, action, to_status)
    SELECT id, at_, session_user, operator_, 'submit', status FROM added ORDER BY id;
    INSERT INTO status_change (position, application_id, status, at)
    SELECT NULL, id, status, at_ FROM added ORDER BY id;
    RETURN NULL;
END
$$;

-- One deferred placing per transaction is enough: it places every unplaced row it sees.
-- (A login that sets this flag itself only delays its rows to the next placing.)
CREATE OR REPLACE FUNCTION arayis_feed_queue_once() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('arayis.feed_queued', true) = 'yes' THEN
        RETURN false;
    END IF;
    PERFORM set_config('arayis.feed_queued', 'yes', true);
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION arayis_feed_place() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    n_ bigint;
    top_ bigint;
BEGIN
    PERFORM set_config('arayis.feed_queued', '', true);  -- later rows queue a new placing
    IF (SELECT position FROM status_change WHERE id = NEW.id) IS NOT NULL THEN
        RETURN NULL;  -- placed already
    END IF;
    SELECT count(*) INTO n_ FROM status_change WHERE position IS NULL;
    IF n_ = 0 THEN
        RETURN NULL;
    END IF;
    -- The hash chain's seal lock (migration 0014) before the counter: every commit that
    -- takes both takes them in this order, so two commits never wait for each other.
    PERFORM pg_advisory_xact_lock(4242000021);
    INSERT INTO counter (name, value) VALUES ('feed', 0) ON CONFLICT (name) DO NOTHING;
    SELECT value INTO top_ FROM counter WHERE name = 'feed' FOR UPDATE;
    top_ := GREATEST(top_, COALESCE((SELECT max(position) FROM status_change), 0));
    UPDATE counter SET value = top_ + n_ WHERE name = 'feed';
    UPDATE status_change SET position = top_ + mine.rank
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank
          FROM status_change WHERE position IS NULL) AS mine
    WHERE status_change.id = mine.id;
    RETURN NULL;
END
$$;
"""

TRIGGERS = (
    "CREATE TRIGGER arayis_application_submitted AFTER INSERT ON application "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
    "EXECUTE FUNCTION arayis_status_submitted()",
    "CREATE TRIGGER arayis_application_status AFTER UPDATE OF status ON application "
    "FOR EACH ROW EXECUTE FUNCTION arayis_status_changed()",
    "CREATE CONSTRAINT TRIGGER arayis_status_change_place AFTER INSERT ON status_change "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (arayis_feed_queue_once()) "
    "EXECUTE FUNCTION arayis_feed_place()",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    quoted = '"' + str(schema).replace('"', '""') + '"'
    op.execute(PG_FUNCTIONS.format(schema=quoted, shards=TALLY_SHARDS))
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS arayis_status_change_place ON status_change")
    op.execute("DROP TRIGGER IF EXISTS arayis_application_status ON application")
    op.execute("DROP TRIGGER IF EXISTS arayis_application_submitted ON application")
    op.execute("DROP FUNCTION IF EXISTS arayis_feed_place()")
    op.execute("DROP FUNCTION IF EXISTS arayis_feed_queue_once()")
    op.execute("DROP FUNCTION IF EXISTS arayis_status_submitted()")
    op.execute("DROP FUNCTION IF EXISTS arayis_status_changed()")
