"""Problem documents (RFC 9457) of the portal API, in the caller's language.

``code`` is the word of the CLI's JSON ``error`` (the same refusal, over HTTP); ``detail``
is Azerbaijani, or English with ``Accept-Language: en``, through the gettext catalogue.
"""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus
from typing import Any

from fastapi import Request
from starlette.responses import Response

from arayis_cli.errors import ArayisError, DebtOutstanding
from arayis_cli.i18n import N_, translations
from arayis_cli.web import api_schema as schema

PROBLEM = "application/problem+json"
#: The HTTP status of each domain error (the CLI's exit code, over HTTP).
STATUS_OF = {
    "invalid_input": 422,
    "not_found": 404,
    "conflict": 409,
    "debt": 409,
    "not_permitted": 403,
    "unavailable": 503,
}
MESSAGES = {
    "unauthorized": N_("a valid API key is required (Authorization: Bearer KEY)"),
    "scope": N_("this API key has no scope {scope}"),
    "rate_limited": N_("too many requests: try again in {seconds} s"),
    "too_large": N_("the request body is larger than allowed"),
    "route": N_("no such route"),
    "method": N_("method not allowed"),
    "invalid": N_("invalid request: {where}"),
    "pairs": N_("give each file with its kind: {kinds} kind(s), {files} file(s), at most {most}"),
    "internal": N_("internal error; nothing was changed"),
    "refused": N_("the database refused this to the API's login"),
}


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.extra = extra or {}
        self.headers = headers or {}


def language_of(request: Request) -> str:
    """``en`` when the client prefers English (``Accept-Language: en``), else ``az``."""
    best, best_q = "az", -1.0
    for part in request.headers.get("accept-language", "").split(",")[:10]:
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower()[:2]
        if primary in ("az", "en") and q > best_q:
            best, best_q = primary, q
    return best


def message(request: Request, key: str, **values: Any) -> str:
    return translations(language_of(request)).gettext(MESSAGES[key]).format(**values)


def problem(request: Request | None, exc: ApiProblem) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(exc.status).phrase,
        "status": exc.status,
        "code": exc.code,
        "detail": exc.detail,
        **exc.extra,
    }
    if request is not None:
        request.state.outcome = exc.code
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=exc.status,
        media_type=PROBLEM,
        headers=exc.headers,
    )


def domain_problem(
    request: Request, exc: ArayisError, *, now: datetime, status: int | None = None
) -> Response:
    """The domain refusal ``exc`` as a problem document (``now``: the worker's clock)."""
    extra = {k: v for k, v in exc.extra.items() if k == "debt"}
    if isinstance(exc, DebtOutstanding):
        from arayis_cli.services.support import debt_warning

        extra["warning"] = debt_warning(exc.debt, now=now)
        extra["application_id"] = getattr(request.state, "application_id", 0)
    code = exc.error
    return problem(
        request, ApiProblem(status or STATUS_OF.get(code, 500), code, exc.message, extra=extra)
    )


def errors_of(*statuses: int, debt: bool = False) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in (401, 403, 413, 429, *statuses):
        model = schema.DebtProblem if debt and status == 409 else schema.Problem
        out[status] = {"model": model, "content": {PROBLEM: {}}, "description": "Problem"}
    return out
