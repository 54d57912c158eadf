"""``/api/v1``: the portal's side of the service over HTTP (submit, upload, status, feed,
"Çap et"), served by ``arayis serve`` beside ``/verify``.

The routes call the same services as the CLI (one validation, one workflow, one set of
error codes). Clients authenticate with ``Authorization: Bearer KEY``; each key has
scopes (submit, status, print). Errors are RFC 9457 problem documents
(``application/problem+json``) whose ``code`` is the CLI's JSON ``error`` word and whose
``detail`` is Azerbaijani, or English with ``Accept-Language: en``. Every call is
recorded (client, route, application, outcome; nothing personal) in batches.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from arayis_cli.errors import ArayisError, InvalidInput, NotFound, NotPermitted
from arayis_cli.i18n import N_, speaking, translations
from arayis_cli.web import api_schema as schema
from arayis_cli.web.calllog import APP_ID_MAX, PREFIX, CallLog, log
from arayis_cli.web.guard import BodyTooLarge, TokenBuckets
from arayis_cli.web.problems import (
    ApiProblem,
    domain_problem,
    errors_of,
    language_of,
    message,
    problem,
)

if TYPE_CHECKING:
    from datetime import datetime

    from arayis_cli.config import Settings
    from arayis_cli.db import Engines, WriteTurns
    from arayis_cli.services.apikeys import Client
    from arayis_cli.web.config import ServeConfig
    from arayis_cli.web.recorder import Recorder

bearer = HTTPBearer(auto_error=False, description="The client's API key.")
MAX_JSON_BYTES = 16 * 1024
CURSOR_MAX = 2**63 - 1


class Api:
    """The API's state in one worker: configuration, key cache, buckets, call recorder."""

    def __init__(
        self,
        config: ServeConfig,
        recorder: Recorder,
        engines: Engines,
        turns: WriteTurns,
        settings: Settings,
    ) -> None:
        from arayis_cli.services import Terms
        from arayis_cli.services.printing import Issuer

        self.config = config
        self.turns = turns
        # The worker's settings, read once when it started (arayis_cli/web/app.py Service).
        self.settings = settings
        self.terms = Terms.of(settings)
        self.issuer = Issuer.of(settings)
        self.url = config.db_url
        self.engines = engines
        self.recorder = recorder
        self.buckets = TokenBuckets(rate=config.api_rate_per_minute / 60.0, burst=config.api_burst)
        # Failed authentications per address: guessing keys is slowed down too.
        self.failures = TokenBuckets(rate=config.rate_per_minute / 60.0, burst=config.burst)
        self._keys: dict[str, tuple[Client | None, float]] = {}
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The worker's clock (``ARAYIS_NOW`` freezes it)."""
        from arayis_cli.clock import now

        return now(self.settings.now)

    def session(self, *, write: bool = True) -> Any:
        """One transaction on the register, through the worker's engines."""
        return self.engines.session(self.url, write=write)

    @cached_property
    def press_slots(self) -> Any:
        """ "Çap et" presses under way in this worker (the rest wait, first come first served)."""
        import asyncio

        from arayis_cli.services.portal import PRESSES_AT_ONCE

        return asyncio.Semaphore(PRESSES_AT_ONCE)

    def lookup(self, key: str) -> Client | None:
        from arayis_cli.services.apikeys import authenticate, key_hash

        digest = key_hash(key)
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.session(write=False) as session:
            client = authenticate(session, key)
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[digest] = (client, now + self.config.key_cache_seconds)
        return client

    def authenticate(self, request: Request) -> Client:
        """The caller, from ``Authorization: Bearer KEY``; 401 otherwise (and failed
        attempts count against the caller's address, so guessing keys is slow)."""
        from arayis_cli.web.guard import client_address, parse_proxies

        scheme, _sep, credentials = request.headers.get("authorization", "").partition(" ")
        client = None
        if scheme.lower() == "bearer" and credentials.strip():
            client = self.lookup(credentials.strip())
        if client is None:
            address = client_address(request.scope, parse_proxies(self.config.trusted_proxies))
            wait = self.failures.take(address)
            if wait > 0:
                raise self.rate_limited(request, wait)
            raise ApiProblem(
                401,
                "unauthorized",
                message(request, "unauthorized"),
                headers={"www-authenticate": "Bearer"},
            )
        return client

    def needs(self, scope: str) -> Callable[..., Any]:
        async def authorised(
            request: Request,
            # Declares the scheme in the description; the key was checked by the gate.
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ) -> Client:
            client: Client = request.state.api_client
            if scope not in client.scopes:
                raise ApiProblem(403, "not_permitted", message(request, "scope", scope=scope))
            wait = self.buckets.take(client.name)
            if wait > 0:
                raise self.rate_limited(request, wait)
            return client

        return authorised

    def rate_limited(self, request: Request, wait: float) -> ApiProblem:
        seconds = max(1, math.ceil(wait))
        return ApiProblem(
            429,
            "rate_limited",
            message(request, "rate_limited", seconds=seconds),
            headers={"retry-after": str(seconds)},
        )


def actor_of(client: Client) -> str:
    """Who the history names for a call: the client (on PostgreSQL the server adds the
    login the API connects as)."""
    return f"api:{client.name}"


def create_api(
    config: ServeConfig,
    recorder: Recorder,
    engines: Engines,
    turns: WriteTurns,
    settings: Settings,
) -> Any:
    api_state = Api(config, recorder, engines, turns, settings)
    api = FastAPI(
        title="arayis portal API",
        version="1",
        description=(
            "The portal's side of the certificate of no debt (borcun olmaması haqqında "
            "arayış): submit, upload documents, watch the status, press Çap et."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app_id_param = PathParam(ge=1, le=APP_ID_MAX, description="Application number.")

    @api.exception_handler(ApiProblem)
    async def on_problem(request: Request, exc: ApiProblem) -> Response:
        return problem(request, exc)

    @api.exception_handler(ArayisError)
    async def on_domain(request: Request, exc: ArayisError) -> Response:
        return domain_problem(request, exc, now=api_state.now())

    @api.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        # Where, not what: the rejected value may be a FIN or a phone number.
        where = ", ".join(".".join(str(p) for p in err.get("loc", ())) for err in exc.errors()[:5])
        return problem(
            request, ApiProblem(422, "invalid_input", message(request, "invalid", where=where))
        )

    @api.exception_handler(BodyTooLarge)
    async def on_too_large(request: Request, exc: BodyTooLarge) -> Response:
        return problem(request, ApiProblem(413, "too_large", message(request, "too_large")))

    @api.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc.__cause__, BodyTooLarge):  # counted by the guard while parsing
            return await on_too_large(request, exc.__cause__)
        if exc.status_code == 405:
            return problem(request, ApiProblem(405, "invalid_input", message(request, "method")))
        if exc.status_code == 404:
            return problem(request, ApiProblem(404, "not_found", message(request, "route")))
        # A body that cannot be parsed at all (broken multipart, …): bad input, as elsewhere.
        return problem(
            request, ApiProblem(422, "invalid_input", message(request, "invalid", where="body"))
        )

    @api.exception_handler(Exception)
    async def on_failure(request: Request, exc: Exception) -> Response:
        from arayis_cli.unavailable import classify

        err = classify(exc, db_url=config.db_url) if isinstance(exc, SQLAlchemyError) else None
        if err is not None:
            return domain_problem(request, err, now=api_state.now())
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
            # The server refused the API's login (the arayis_portal grants): 403, not a bug.
            log.error("API call refused by the database: %s", str(exc.orig).splitlines()[0][:200])  # type: ignore[attr-defined]
            refused = NotPermitted(message(request, "refused"))
            return domain_problem(request, refused, now=api_state.now())
        return problem(request, ApiProblem(500, "internal", message(request, "internal")))

    def view(app_id: int) -> dict[str, Any]:
        from arayis_cli.services.portal import subscriber_document

        with api_state.session(write=False) as session:
            return subscriber_document(session, app_id)

    @api.post(
        "/applications",
        status_code=201,
        response_model=schema.ApplicationView,
        responses={200: {"model": schema.ApplicationView, "description": "Already registered"}}
        | errors_of(409, 422),
        summary="Submit an application (status Yeni); the same external_id again returns it",
    )
    def submit(
        body: schema.NewApplication,
        request: Request,
        client: Client = Depends(api_state.needs("submit")),
    ) -> Response:
        from arayis_cli.services.applications import submit as submit_one
        from arayis_cli.services.applications import validate_submission

        with speaking(language_of(request)):
            at = api_state.now()
            channel = client.name if client.name in ("egov", "azersu") else "egov"
            sub = validate_submission(
                now=at,
                code_lengths=config.code_lengths,
                abonent=body.abonent_code,
                fin=body.fin,
                phone=body.phone,
                email=body.email,
                channel=channel,
                external_id=body.external_id,
            )
            try:
                with api_state.turns(), api_state.session() as session:
                    app, created = submit_one(
                        session, sub, now=at, actor=actor_of(client), terms=api_state.terms
                    )
            except NotFound as exc:  # the abonent: a field of the body, not this URL
                return domain_problem(request, exc, now=at, status=422)
            request.state.application_id = app.id
            data = view(int(app.id or 0))
        return JSONResponse(data, status_code=201 if created else 200)

    @api.post(
        "/applications/{app_id}/documents",
        status_code=201,
        response_model=schema.StoredDocuments,
        responses=errors_of(404, 409, 422),
        summary="Upload document copies: fields kind and file, repeated in pairs",
    )
    async def upload(
        request: Request,
        app_id: int = app_id_param,
        kind: list[str] = Form(description="id-card, ownership, power-of-attorney or other"),
        file: list[UploadFile] = File(description="PDF, JPEG or PNG; the n-th kind's file"),
        idempotency_key: str | None = Header(default=None, max_length=100),
        client: Client = Depends(api_state.needs("submit")),
    ) -> Response:
        from arayis_cli.services.documents import upload_of
        from arayis_cli.services.portal import MAX_UPLOAD_FILES

        lang = language_of(request)
        if len(kind) != len(file) or len(file) > MAX_UPLOAD_FILES:
            raise ApiProblem(
                422,
                "invalid_input",
                message(request, "pairs", kinds=len(kind), files=len(file), most=MAX_UPLOAD_FILES),
            )
        key = idempotency_key.strip() if idempotency_key is not None else None
        limit = config.max_document_bytes
        digest = hashlib.sha256()
        pairs = []
        with speaking(lang):
            if key is not None and (not key or not key.isascii() or not key.isprintable()):
                raise InvalidInput(
                    translations(lang).gettext(N_("Idempotency-Key must be printable ASCII"))
                )
            from arayis_cli.validation import parse_document_kind

            for kind_value, upload_file in zip(kind, file, strict=True):
                kind_value = parse_document_kind(kind_value)
                content = await upload_file.read(limit + 1)
                name = (upload_file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
                item = upload_of(name, content, limit=limit)
                digest.update(f"{kind_value}\0{item.filename}\0{item.sha256}\0".encode())
                pairs.append((kind_value, item))

        def attempt() -> dict[str, Any]:
            from arayis_cli.services.portal import attach_pairs

            with api_state.turns(), api_state.session() as session:
                return attach_pairs(
                    session,
                    app_id,
                    pairs,
                    client=client.name,
                    idempotency_key=key,
                    request_sha256=digest.hexdigest(),
                    now=api_state.now(),
                    actor=actor_of(client),
                )[0]

        def store() -> dict[str, Any]:
            with speaking(lang):
                try:
                    return attempt()
                except IntegrityError:
                    if key is None:
                        raise
                    return attempt()  # the same key sent twice at once: now a replay

        return JSONResponse(await run_in_threadpool(store), status_code=201)

    @api.get(
        "/applications/{app_id}",
        response_model=schema.ApplicationView,
        responses=errors_of(404, 422),
        summary="The application as the subscriber sees it",
    )
    async def get_application(
        request: Request,
        app_id: int = app_id_param,
        client: Client = Depends(api_state.needs("status")),
    ) -> Response:
        # Inline, not in the thread pool: a few indexed reads cost less than the hop.
        with speaking(language_of(request)):
            return JSONResponse(view(app_id))

    @api.get(
        "/applications",
        response_model=schema.ApplicationView,
        responses=errors_of(404, 422),
        summary="Find an application by the portal's own id",
    )
    def find(
        request: Request,
        external_id: str = Query(min_length=1, max_length=100),
        client: Client = Depends(api_state.needs("status")),
    ) -> Response:
        from arayis_cli.services.portal import by_external_id

        with speaking(language_of(request)):
            with api_state.session(write=False) as session:
                app_id = by_external_id(session, external_id)
            request.state.application_id = app_id
            return JSONResponse(view(app_id))

    @api.get(
        "/changes",
        response_model=schema.Changes,
        responses=errors_of(422),
        summary="Status changes in commit order; continue from next_cursor",
    )
    def changes(
        request: Request,
        after: int = Query(default=0, ge=0, le=CURSOR_MAX),
        limit: int = Query(default=100, ge=1, le=10_000),
        client: Client = Depends(api_state.needs("status")),
    ) -> Response:
        from arayis_cli.present import change_json
        from arayis_cli.services.changes import feed

        with api_state.session(write=False) as session:
            found, next_cursor = feed(session, after=after, limit=limit)
        entries = [
            change_json(c.cursor, c.application_id, c.external_id, c.status, c.at) for c in found
        ]
        return JSONResponse({"changes": entries, "next_cursor": next_cursor})

    @api.post(
        "/applications/{app_id}/print",
        response_class=Response,
        responses={
            200: {
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                "description": "The certificate (the current one if there is one)",
            }
        }
        | errors_of(404, 409, 422, debt=True),
        summary='"Çap et": the debt is checked now; no debt gives the certificate PDF',
    )
    async def press(
        request: Request,
        app_id: int = app_id_param,
        client: Client = Depends(api_state.needs("print")),
    ) -> Response:
        from arayis_cli.services.portal import press_print

        request.state.application_id = app_id
        language = language_of(request)

        def pressing() -> Any:
            with speaking(language):
                return press_print(
                    api_state.session,
                    app_id,
                    now=api_state.now(),  # its moment: when its turn comes, not its arrival
                    actor=actor_of(client),
                    issuer=api_state.issuer,
                    turns=api_state.turns,
                )

        # The presses wait their turn here, not each in a thread of its own: a burst of 50
        # held 25 threads per worker, blocked, then contending for the interpreter.
        async with api_state.press_slots:
            pressed = await run_in_threadpool(pressing)
        number = pressed.certificate.number
        return Response(
            pressed.pdf,
            media_type="application/pdf",
            headers={
                "content-disposition": f'attachment; filename="{number}.pdf"',
                "x-certificate-number": number,
            },
        )

    return CallLog(Gate(api, api_state), recorder, api_state.now)


class Gate:
    """Authentication before anything else reads the request: an unknown key is 401
    whatever the body holds (the description itself is public)."""

    def __init__(self, app: Any, api: Api) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("path", "").endswith("/openapi.json"):
            request = Request(scope)
            try:
                client = self.api.authenticate(request)
            except ApiProblem as exc:
                await problem(request, exc)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["api_client"], state["client"] = client, client.name
        await self.app(scope, receive, send)


def body_limit(path: str, method: str, config: ServeConfig) -> int | None:
    """The largest body a request to ``path`` may send (None: not an API path)."""
    if not path.startswith(PREFIX + "/"):
        return None
    if method == "POST" and path.endswith("/documents"):
        return config.api_max_body_bytes
    return MAX_JSON_BYTES
