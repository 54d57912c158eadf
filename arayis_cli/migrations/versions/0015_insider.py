"""insider: on PostgreSQL the database writes history, the feed and the tallies itself

Revision ID: 0015_insider
Revises: 0009_accountability
Create Date: 2026-12-06

A login that may change an application's status (a clerk, an approver) used to write the
history row, the portal feed row, the feed counter and the decision tallies itself, so from
``psql`` it could skip them, invent them or wind the counter back. From this revision on,
on PostgreSQL:

- ``arayis_status_changed`` (AFTER INSERT OR UPDATE OF status ON application) writes the
  history row (``event``; actor = the authenticated login), the feed row
  (``status_change``) and, for a decision, the tallies. The client only tells the time,
  the display name and the detail through transaction-local settings (``arayis.at``,
  ``arayis.operator``, ``arayis.detail``); it cannot skip or invent a status change's rows.
- ``arayis_feed_place`` (a constraint trigger deferred to COMMIT) gives the transaction's
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

revision: str = "0015_insider"
down_revision: str | None = "0009_accountability"
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
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        action_ := 'submit';
    ELSIF NEW.status = 'in_progress' THEN
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
            action_, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, detail_);
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

CREATE OR REPLACE FUNCTION arayis_feed_place() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    n_ bigint;
    top_ bigint;
BEGIN
    -- The first of this transaction's deferred calls places every row; the others find none.
    SELECT count(*) INTO n_ FROM status_change WHERE position IS NULL;
    IF n_ = 0 THEN
        RETURN NULL;
    END IF;
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
    "CREATE TRIGGER arayis_application_status AFTER INSERT OR UPDATE OF status ON application "
    "FOR EACH ROW EXECUTE FUNCTION arayis_status_changed()",
    "CREATE CONSTRAINT TRIGGER arayis_status_change_place AFTER INSERT ON status_change "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arayis_feed_place()",
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
    op.execute("DROP FUNCTION IF EXISTS arayis_feed_place()")
    op.execute("DROP FUNCTION IF EXISTS arayis_status_changed()")
