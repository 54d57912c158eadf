"""The documents of ``/api/v1``, as pydantic models: they make the OpenAPI description
(the routes answer with plain JSON built by the services, in these shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["new", "in_progress", "completed", "rejected"]


class NewApplication(BaseModel):
    """What the subscriber typed on the portal, and the portal's own request id."""

    model_config = ConfigDict(extra="forbid")

    abonent_code: str = Field(max_length=40, description="Abonent code (digits).")
    fin: str = Field(max_length=40, description="FIN of the property owner (7 characters).")
    phone: str = Field(max_length=40, description="Contact phone (Azerbaijani number).")
    email: str = Field(max_length=320, description="Contact email address.")
    external_id: str | None = Field(
        default=None,
        max_length=100,
        description="The portal's request id: sending it again returns the same application.",
    )


class Email(BaseModel):
    kind: str
    subject: str
    body_text: str
    status: str
    sent_at: str | None


class ApplicationView(BaseModel):
    """The application as the subscriber sees it ("Göndərilən müraciətlər")."""

    id: int
    application_id: int
    external_id: str | None
    status: Status
    status_label: str
    due_on: str = Field(description="The date the answer is due (ISO 8601).")
    print_enabled: bool = Field(description='Whether "Çap et" is active.')
    message: str
    emails: list[Email]


class StoredDocument(BaseModel):
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str


class StoredDocuments(BaseModel):
    application_id: int
    added: int = Field(description="How many of the files were new (the rest were there).")
    documents: list[StoredDocument]


class Change(BaseModel):
    cursor: int
    application_id: int
    external_id: str | None
    status: Status
    status_label: str
    print_enabled: bool
    at: str


class Changes(BaseModel):
    changes: list[Change]
    next_cursor: int


class Problem(BaseModel):
    """RFC 9457 problem document; ``code`` is the CLI's JSON ``error`` word."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str
    detail: str


class DebtProblem(Problem):
    """ "Çap et" met a debt: the amount and the warning the portal shows (Azerbaijani)."""

    debt: str
    warning: str
    application_id: int
