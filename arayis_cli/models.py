"""SQLModel tables. Imported only by commands that touch the database (sqlmodel is heavy).

Money is integer qəpik (SQLite has no decimal type); times are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from arayis_cli.workflow import open_sql

OPEN_SQL = open_sql()


class AwareDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; a naive value is a bug and refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:  # SQLite keeps no offset: the value is UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Abonent(SQLModel, table=True):
    """Abonent (subscriber account) and the owner on record."""

    code: str = Field(primary_key=True, max_length=20)
    group: str = Field(max_length=3)
    owner_name: str = Field(max_length=500)
    owner_fin: str = Field(max_length=7)
    address: str = Field(max_length=500)
    created_at: datetime = Field(sa_type=AwareDateTime)


class LedgerEntry(SQLModel, table=True):
    """A charge, payment or adjustment on an abonent's account (hesab)."""

    __tablename__ = "ledger_entry"

    id: int | None = Field(default=None, primary_key=True)
    abonent_code: str = Field(foreign_key="abonent.code", index=True, max_length=20)
    entry_date: date
    kind: str = Field(max_length=12)
    amount_qepik: int = Field(sa_column=Column(BigInteger, nullable=False))
    reference: str = Field(unique=True, max_length=100)
    created_at: datetime = Field(sa_type=AwareDateTime)


class Application(SQLModel, table=True):
    """Müraciət: an application for a certificate of no debt."""

    __table_args__ = (
        Index("ix_application_status_submitted", "status", "submitted_at", "id"),
        Index("ix_application_submitted", "submitted_at", "id"),
        Index("ix_application_status_due", "status", "due_on"),
        Index("ix_application_decision_days", "decision_working_days", "decided_late"),
        # At most one open application per abonent, enforced by the database itself.
        Index(
            "uq_application_open_per_abonent",
            "abonent_code",
            unique=True,
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    abonent_code: str = Field(foreign_key="abonent.code", index=True, max_length=20)
    fin: str = Field(max_length=7)
    phone: str = Field(max_length=20)
    email: str = Field(max_length=254)
    channel: str = Field(max_length=10)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    submitted_at: datetime = Field(sa_type=AwareDateTime)
    due_on: date
    status: str = Field(max_length=12)
    operator: str | None = Field(default=None, max_length=100)
    rejection_reason: str | None = Field(default=None, max_length=500)
    override_reason: str | None = Field(default=None, max_length=500)
    decided_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Set once at the decision, so that stats need no calendar and no full scan.
    decision_working_days: int | None = None
    decided_late: bool | None = None
    created_by: str = Field(max_length=100)
    version: int = 1


class DocumentBlob(SQLModel, table=True):
    """The bytes of an uploaded copy, stored once per content (SHA-256)."""

    __tablename__ = "document_blob"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Document(SQLModel, table=True):
    """Sənədin surəti: one uploaded copy attached to an application."""

    __table_args__ = (UniqueConstraint("application_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: str = Field(max_length=20)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=50)
    size: int
    sha256: str = Field(foreign_key="document_blob.sha256", max_length=64)
    attached_at: datetime = Field(sa_type=AwareDateTime)
    attached_by: str = Field(max_length=100)
    #: A detached document (soft: the row and its bytes stay for the record) no longer
    #: counts for the checklist or the subscriber's view; who, when and why are kept here
    #: and in the history.
    detached_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    detached_by: str | None = Field(default=None, max_length=100)
    detach_reason: str | None = Field(default=None, max_length=500)


def _same_as_actor(context: Any) -> str | None:
    """Column default of ``operator_name``: the name given as the actor (bulk inserts)."""
    value = context.get_current_parameters().get("actor")
    return value if isinstance(value, str) else None


class Event(SQLModel, table=True):
    """History: every state change and every print attempt, kept forever (append-only).

    ``actor`` is who is accountable: on PostgreSQL the server writes the login
    (``session_user``) there whatever the client sends; on SQLite it is the operator name.
    ``operator_name`` is the display name given with ``--operator`` / ``ARAYIS_OPERATOR``.
    """

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    at: datetime = Field(sa_type=AwareDateTime)
    actor: str = Field(max_length=100)
    operator_name: str | None = Field(
        default=None, sa_column=Column(String(100), nullable=True, default=_same_as_actor)
    )
    action: str = Field(max_length=20)
    from_status: str | None = Field(default=None, max_length=12)
    to_status: str | None = Field(default=None, max_length=12)
    detail: str | None = Field(default=None, sa_column=Column(Text))


class OutboxMessage(SQLModel, table=True):
    """An email the tool decided to send, and its delivery state."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # One email of each kind per application: a decision is never mailed twice.
        UniqueConstraint("application_id", "kind"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: str = Field(max_length=20)
    to_addr: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(sa_type=AwareDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    message_id: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)


#: A current certificate: issued, neither revoked nor superseded.
CURRENT_CERTIFICATE_SQL = "revoked_at IS NULL AND superseded_at IS NULL"


class Certificate(SQLModel, table=True):
    """Arayış: the register of issued certificates.

    At most one certificate per application is current (not revoked, not superseded): a
    partial unique index the database enforces whatever the application code does.
    """

    __table_args__ = (
        Index(
            "uq_certificate_current",
            "application_id",
            unique=True,
            sqlite_where=text(CURRENT_CERTIFICATE_SQL),
            postgresql_where=text(CURRENT_CERTIFICATE_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=30)
    application_id: int = Field(foreign_key="application.id", index=True)
    issued_at: datetime = Field(sa_type=AwareDateTime)
    valid_until: date
    balance_qepik: int = Field(sa_column=Column(BigInteger, nullable=False))
    operator: str = Field(max_length=100)
    pdf_sha256: str = Field(max_length=64)
    pdf_size: int
    token: str | None = Field(default=None, sa_column=Column(Text))
    key_id: str | None = Field(default=None, max_length=16)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_by: str | None = Field(default=None, max_length=100)
    revoked_reason: str | None = Field(default=None, max_length=500)
    superseded_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    superseded_by: str | None = Field(default=None, max_length=30)


class CertificatePdf(SQLModel, table=True):
    """The bytes of a certificate as issued: ``print --copy`` hands out the same paper."""

    __tablename__ = "certificate_pdf"

    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Staff(SQLModel, table=True):
    """The staff register: the display name (and title) printed on certificates, by login
    (a PostgreSQL login, or the operator name on SQLite)."""

    login: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    title: str | None = Field(default=None, max_length=200)
    added_at: datetime = Field(sa_type=AwareDateTime)
    added_by: str = Field(max_length=100)


class CertificateVerification(SQLModel, table=True):
    """Yoxlama: one verification of a certificate (web or command line), kept forever so
    that support can see that a notary checked it. Append-only: rows are never changed."""

    __tablename__ = "certificate_verification"

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    at: datetime = Field(sa_type=AwareDateTime)
    verdict: str = Field(max_length=20)
    channel: str = Field(max_length=10)
    evidence: str = Field(max_length=10)


class SigningKey(SQLModel, table=True):
    """Public halves of the keys that signed certificates: old ones keep verifying."""

    __tablename__ = "signing_key"
    # One office key signs at a time, for every login (docs/operations.md: the office key).
    __table_args__ = (
        Index(
            "uq_signing_key_current",
            "current",
            unique=True,
            sqlite_where=text("current"),
            postgresql_where=text("current"),
        ),
    )

    kid: str = Field(primary_key=True, max_length=16)
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=AwareDateTime)
    #: The key that signs new certificates now (made by ``keys init`` / ``keys rotate``).
    current: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    #: ``keys retire``: the key signs nothing more; what it signed keeps verifying …
    retired_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    retired_by: str | None = Field(default=None, max_length=100)
    #: … unless it was stolen: what it signed after this time is refused (key compromised).
    compromised_since: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Tally(SQLModel, table=True):
    """Running counts of decisions for stats, kept in each decision's transaction.

    Keys: ``status:completed|rejected`` and ``decided:<working days>:<late 0/1>``. On
    PostgreSQL a key is spread over shard rows so that concurrent decisions never wait
    for each other; a figure is the sum over its shards.
    """

    key: str = Field(primary_key=True, max_length=40)
    shard: int = Field(primary_key=True)
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class Counter(SQLModel, table=True):
    """Named sequences (certificate numbers per year)."""

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


class Policy(SQLModel, table=True):
    """Settings an administrator decides, kept in the database (four eyes …)."""

    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=100)
    changed_at: datetime = Field(sa_type=AwareDateTime)
    changed_by: str = Field(max_length=100)


class AuditEntry(SQLModel, table=True):
    """Append-only audit: unmasked personal data shown (``pii_read``), policy changes.

    ``actor`` is stamped like the history's: the login on PostgreSQL, the operator on SQLite.
    No foreign keys: the audit outlives anything it mentions.
    """

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=AwareDateTime, index=True)
    actor: str = Field(max_length=100)
    operator_name: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=20)
    command: str = Field(max_length=60)
    application_id: int | None = Field(default=None, index=True)
    abonent_code: str | None = Field(default=None, max_length=20, index=True)
    detail: str | None = Field(default=None, sa_column=Column(Text))


class StatusChange(SQLModel, table=True):
    """One status change of an application, for the portal's feed (``arayis changes``).

    ``position`` is the feed cursor. It is NULL while the writing transaction runs and is
    given at commit time under the ``feed`` counter's row lock (see
    :mod:`arayis_cli.services.changes`), so positions follow commit order.
    """

    __tablename__ = "status_change"
    __table_args__ = (
        Index("uq_status_change_position", "position", unique=True),
        # Only the writing transaction's own rows are ever unplaced: a tiny partial index.
        Index(
            "ix_status_change_unplaced",
            "id",
            sqlite_where=text("position IS NULL"),
            postgresql_where=text("position IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    application_id: int = Field(foreign_key="application.id", index=True)
    status: str = Field(max_length=12)
    at: datetime = Field(sa_type=AwareDateTime)


class ApiClient(SQLModel, table=True):
    """A client of ``/api/v1`` (the e-gov.az portal, azersu.az): its key's SHA-256 only.

    The key itself is shown once, when created; revoking keeps the row (calls name it).
    """

    __tablename__ = "api_client"

    name: str = Field(primary_key=True, max_length=40)
    key_sha256: str = Field(max_length=64, unique=True)
    scopes: str = Field(max_length=40)  # comma-separated: submit, status, print
    created_at: datetime = Field(sa_type=AwareDateTime)
    created_by: str = Field(max_length=100)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_by: str | None = Field(default=None, max_length=100)


class ApiCall(SQLModel, table=True):
    """One call of ``/api/v1``: which client, which route, which application, what came
    of it (the problem code, or ``ok``). No foreign keys: calls about an application that
    does not exist are recorded too. Append-only."""

    __tablename__ = "api_call"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=AwareDateTime)
    client: str | None = Field(default=None, max_length=40)
    method: str = Field(max_length=7)
    route: str = Field(max_length=80)
    application_id: int | None = Field(default=None, index=True)
    status: int
    outcome: str = Field(max_length=30)


class ApiIdempotency(SQLModel, table=True):
    """A document upload's ``Idempotency-Key``: the same key again returns this answer."""

    __tablename__ = "api_idempotency"

    client: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=100)
    application_id: int
    request_sha256: str = Field(max_length=64)
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=AwareDateTime)


class ChainLink(SQLModel, table=True):
    """Zəncir: one link of the hash chain over the kept records (see
    :mod:`arayis_cli.services.chain`). Written only at commit (by the database on
    PostgreSQL), never changed."""

    __tablename__ = "chain_link"
    __table_args__ = (Index("ix_chain_link_subject", "tbl", "rid", "position"),)

    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    tbl: str = Field(max_length=40)
    rid: str = Field(max_length=100)
    digest: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ChainPending(SQLModel, table=True):
    """PostgreSQL: rows written in the running transaction, noted by triggers and turned
    into links at its commit; always empty outside a transaction."""

    __tablename__ = "chain_pending"

    seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    tbl: str = Field(max_length=40)
    rid: str = Field(max_length=100)
