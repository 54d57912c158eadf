"""Routes of the verification service (docs/developing.md: adding a web route)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from arayis_cli.errors import ArayisError, InvalidInput
from arayis_cli.web import pages
from arayis_cli.web.api import PREFIX as API_PREFIX
from arayis_cli.web.api import body_limit, create_api
from arayis_cli.web.config import ENV_SERVE_CONFIG, MAX_TOKEN_CHARS, ServeConfig
from arayis_cli.web.guard import BodyTooLarge, Guard, TokenBuckets, parse_proxies
from arayis_cli.web.recorder import Recorder

log = logging.getLogger("arayis.serve")

if TYPE_CHECKING:
    from datetime import datetime

    from arayis_cli.config import Settings
    from arayis_cli.services.verification import Evidence, Verdict

# Checked before anything else touches a token: length, then the token alphabet and shape.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){5}")


def _lang(request: Request) -> str:
    """``?lang=en`` or ``Accept-Language``; Azerbaijani by default (docs/workflow.md)."""
    return pages.language_of(
        request.query_params.get("lang"), request.headers.get("accept-language")
    )


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


class Checkpoints:
    """SQLite: the worker's write-ahead log copied into the database file every
    ``interval`` seconds (``PRAGMA wal_checkpoint(PASSIVE)``: it neither waits for nor
    blocks readers and writers). The worker's own connections never checkpoint at commit
    (``Engines(checkpoints=False)``): the commit that filled the log past SQLite's threshold
    did, with its fsync, inside a subscriber's press and its write turn. Nothing on
    PostgreSQL."""

    def __init__(self, engines: Any, db_url: str, interval: float) -> None:
        self.engines = engines
        self.db_url = db_url
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.db_url.startswith("sqlite"):
            return
        self._thread = threading.Thread(target=self._run, name="arayis-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.engines.checkpoint(self.db_url)
            except (SQLAlchemyError, ArayisError) as exc:  # the next round tries again
                log.warning("checkpoint not made yet (%s)", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            with suppress(Exception):  # best effort at shutdown
                self.engines.checkpoint(self.db_url)  # the log left small for the next start


class Service:
    """One worker's context, as a command's run is one invocation's: its settings (read
    once when it starts: a worker is a fresh process with ``arayis serve``'s environment),
    its engines, its clock; handed down to the services it calls."""

    def __init__(self, config: ServeConfig, settings: Settings | None = None) -> None:
        self.config = config
        self.domain = urlsplit(config.verify_base).hostname or config.verify_base
        from arayis_cli.certificate.signing import KeyPlace
        from arayis_cli.config import Settings
        from arayis_cli.db import Engines, WriteTurns
        from arayis_cli.services.apikeys import record_calls

        self.settings = settings if settings is not None else Settings.from_env()
        self.keys = KeyPlace.of(self.settings)

        # This worker's engines (a worker is a process, or the test's thread): its own run.
        # SQLite's log is checkpointed by a thread of its own (Checkpoints), not by the
        # commit that fills it: that was a subscriber's press, holding the write turn.
        self.engines = Engines(checkpoints=False)
        self.checkpoints = Checkpoints(self.engines, config.db_url, config.record_interval)
        # Its writers take turns with every worker's at SQLite's one write lock.
        self.turns = WriteTurns(config.db_url)
        self.recorder = Recorder(
            config.db_url, interval=config.record_interval, engines=self.engines, turns=self.turns
        )
        self.calls = Recorder(
            config.db_url,
            interval=config.record_interval,
            write=record_calls,
            what="API call log",
            engines=self.engines,
            turns=self.turns,
        )

    def session(self, *, write: bool = True) -> Any:
        """One transaction on the register, through this worker's engines."""
        return self.engines.session(self.config.db_url, write=write)

    def now(self) -> datetime:
        """The worker's clock (``ARAYIS_NOW`` freezes it)."""
        from arayis_cli.clock import now

        return now(self.settings.now)

    def rehearse(self) -> None:
        """A "Çap et" press rolled back (:func:`services.portal.rehearse`)."""
        from arayis_cli.services.portal import rehearse
        from arayis_cli.services.printing import Issuer

        rehearse(self.session, self.turns, now=self.now(), issuer=Issuer.of(self.settings))

    def check(self, evidence: Evidence) -> Verdict:
        """The same verdict as ``arayis verify`` (one implementation), then logged."""
        from arayis_cli.services.verification import check_of, verify

        at = self.now()
        with self.session(write=False) as session:
            verdict = verify(session, evidence, now=at, keys=self.keys)
        self.recorder.add(check_of(verdict, evidence, at=at, channel="web"))
        return verdict

    def answer(self, request: Request, verdict: Verdict) -> Response:
        if _wants_json(request):
            return JSONResponse(verdict.public_json())
        lang = _lang(request)
        html = pages.verdict_page(
            lang,
            verdict,
            path=request.url.path,
            organisation=self.config.organisation,
            domain=self.domain,
        )
        return HTMLResponse(html)

    def refuse(self, request: Request, status: int, key: str, *, form: bool = False) -> Response:
        lang = _lang(request)
        message = pages.text(lang, key)
        if _wants_json(request):
            code = {400: "invalid_input", 413: "too_large", 503: "unavailable"}.get(
                status, "not_found"
            )
            return JSONResponse({"error": code, "message": message}, status_code=status)
        if form:
            html = pages.form_page(
                lang, organisation=self.config.organisation, domain=self.domain, error=message
            )
        else:
            html = pages.error_page(lang, message, path=request.url.path)
        return HTMLResponse(html, status_code=status)

    async def by_token(self, request: Request) -> Response:
        from arayis_cli.certificate.signing import parse_token
        from arayis_cli.services.verification import Evidence

        raw = request.path_params["token"]
        if len(raw) > MAX_TOKEN_CHARS or not TOKEN_SHAPE.fullmatch(raw):
            return self.refuse(request, 400, "bad_token")
        try:
            token = parse_token(raw)
        except InvalidInput:
            return self.refuse(request, 400, "bad_token")
        # Run inline, not in the thread pool: one indexed read and (once per process and
        # certificate) one signature check take well under a millisecond, less than the hop
        # to a thread and back; measured in benchmarks/verify_load.py.
        try:
            verdict = self.check(Evidence(token=token))
        except (SQLAlchemyError, ArayisError):
            return self.refuse(request, 503, "unavailable")
        return self.answer(request, verdict)

    async def form(self, request: Request) -> Response:
        html = pages.form_page(
            _lang(request), organisation=self.config.organisation, domain=self.domain
        )
        return HTMLResponse(html)

    async def submit(self, request: Request) -> Response:
        from arayis_cli.certificate.numbers import BadCheckDigit, is_demo_number, parse_number
        from arayis_cli.services.verification import Evidence, evidence_from_pdf
        from arayis_cli.validation import parse_abonent_code

        try:
            form = await request.form(
                max_files=1, max_fields=4, max_part_size=self.config.max_body_bytes
            )
        except (MultiPartException, HTTPException, ValueError):  # a malformed body
            return self.refuse(request, 400, "nothing", form=True)
        try:
            upload = form.get("pdf")
            content = b""
            if upload is not None and not isinstance(upload, str):
                content = await upload.read()
            number = form.get("number")
            typed = number.strip() if isinstance(number, str) else ""
            code = form.get("abonent")
            typed_code = code.strip() if isinstance(code, str) else ""
        finally:
            await form.close()
        if content:
            evidence = evidence_from_pdf(content)
        elif typed:
            if len(typed) > 40:
                return self.refuse(request, 400, "bad_number", form=True)
            try:
                parsed = parse_number(typed)
            except BadCheckDigit:
                return self.refuse(request, 400, "bad_check_digit", form=True)
            except InvalidInput:
                return self.refuse(request, 400, "bad_number", form=True)
            abonent: str | None = None
            if typed_code:
                try:
                    low, high = self.config.code_lengths
                    abonent = parse_abonent_code(typed_code[:40], min_len=low, max_len=high)
                except InvalidInput:
                    return self.refuse(request, 400, "bad_abonent", form=True)
            elif not is_demo_number(parsed):
                return self.refuse(request, 400, "need_abonent", form=True)
            evidence = Evidence(number=parsed, abonent=abonent)
        else:
            return self.refuse(request, 400, "nothing", form=True)
        try:
            verdict = await run_in_threadpool(self.check, evidence)
        except (SQLAlchemyError, ArayisError):
            return self.refuse(request, 503, "unavailable")
        return self.answer(request, verdict)

    async def healthz(self, request: Request) -> Response:
        def ping() -> None:
            from sqlalchemy import text

            with self.session(write=False) as session:
                session.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except (SQLAlchemyError, ArayisError):  # the register cannot be read: not healthy
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def style(self, request: Request) -> Response:
        return Response(
            pages.STYLE,
            media_type="text/css",
            headers={"cache-control": "public, max-age=86400"},
        )

    async def not_found(self, request: Request, exc: Exception) -> Response:
        path = request.scope.get("path", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            # A path the API's mount did not take (a line break in it): still the API's
            # problem document, never the verification site's page.
            from arayis_cli.web.problems import ApiProblem, message, problem

            return problem(request, ApiProblem(404, "not_found", message(request, "route")))
        return self.refuse(request, 404, "not_found")

    async def too_large(self, request: Request, exc: Exception) -> Response:
        """A streamed body passed the limit while being read (the guard counts it)."""
        return self.refuse(request, 413, "too_large")


def warm_in_background(
    settings: Settings, rehearse: Callable[[], None] | None = None
) -> threading.Thread:
    """Prepare this worker's certificate drawing (fonts, subset) while it starts serving:
    the first subscriber's "Çap et" must not pay for it. Best effort: a failure here shows
    again, properly reported, when a certificate is drawn.

    Then everything the worker holds so far (modules, parsed fonts, compiled statements:
    ≈ 170,000 objects) is moved out of the garbage collector's sight (``gc.freeze``): it
    lives as long as the process, and each full collection walked all of it again — under a
    burst of presses, which allocate plenty, that was ≈ 40 % of a press's CPU time."""

    def warm() -> None:
        from arayis_cli.services.printing import Issuer, warm_renderer

        try:
            warm_renderer(Issuer.of(settings))
            # What a press imports besides the drawing (≈ 10 ms of the first press).
            import arayis_cli.services.keys
            import arayis_cli.services.portal
            import arayis_cli.services.staff  # noqa: F401

            if rehearse is not None:
                rehearse()  # a press rolled back: its statements compiled
        except Exception:  # best effort: the press reports it properly
            return
        finally:
            settle()

    thread = threading.Thread(target=warm, name="arayis-warm", daemon=True)
    thread.start()
    return thread


def settle() -> None:
    """What a worker has built by now stays for its life: the collector stops walking it."""
    import gc

    gc.collect()
    gc.freeze()


def create_app(config: ServeConfig, settings: Settings | None = None) -> Any:
    """The worker's application; ``settings``: read from its environment when not given."""
    service = Service(config, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.recorder.start()
        service.calls.start()
        service.checkpoints.start()
        warming = warm_in_background(service.settings, service.rehearse)
        try:
            yield
        finally:
            await run_in_threadpool(warming.join, 30)  # never left drawing after a stop
            await run_in_threadpool(service.recorder.stop)
            await run_in_threadpool(service.calls.stop)
            await run_in_threadpool(service.checkpoints.stop)
            service.engines.dispose()
            service.turns.close()

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Method Not Allowed", status_code=405)

    app = Starlette(
        routes=[
            Route("/verify/{token}", service.by_token, methods=["GET"]),
            Route("/verify", service.form, methods=["GET"]),
            Route("/verify", service.submit, methods=["POST"]),
            Route("/healthz", service.healthz, methods=["GET"]),
            Route("/static/verify.css", service.style, methods=["GET"]),
            Mount(
                API_PREFIX,
                app=create_api(
                    config, service.calls, service.engines, service.turns, service.settings
                ),
            ),
        ],
        exception_handlers={
            404: service.not_found,
            405: method_not_allowed,
            BodyTooLarge: service.too_large,
        },
        lifespan=lifespan,
    )
    app.state.service = service
    rate = config.rate_per_minute / 60.0
    return Guard(
        app,
        buckets=TokenBuckets(rate=rate, burst=config.burst),
        max_body=config.max_body_bytes,
        trusted_proxies=parse_proxies(config.trusted_proxies),
        body_limit=lambda path, method: body_limit(path, method, config),
    )


def app_from_environment() -> Any:
    """uvicorn's factory in each worker process (``arayis serve --workers N``)."""
    from arayis_cli.config import handed_to_worker

    raw = handed_to_worker()
    if not raw:
        raise RuntimeError(f"{ENV_SERVE_CONFIG} is not set: start the service with arayis serve")
    return create_app(ServeConfig.from_json(raw))
