"""Hardening in front of every route, as plain ASGI (no per-request middleware objects):
the client's address (a forwarded one only from a configured proxy), a token bucket per
address (429), a request size limit (413) and the security headers on every answer.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Paths not rate-limited by address: a load balancer's health probe, the style sheet, and
# the portal API (one portal address serves every subscriber: it limits each API client).
UNLIMITED = ("/healthz", "/static/", "/api/")
MAX_TRACKED_ADDRESSES = 50_000
# A browser sends a few hundred bytes of headers; uvicorn's httptools parser sets no limit.
MAX_HEADER_BYTES = 16 * 1024


class TokenBuckets:
    """Requests allowed per client address: ``burst`` at once, refilled at ``rate`` per
    second. Memory is bounded: idle (full) buckets are dropped when too many are tracked."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[address] = (tokens, now)  # re-inserted: dict order is recency
            if len(self._buckets) > MAX_TRACKED_ADDRESSES:
                self._prune(now)
        return 0.0 if allowed else (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, (_, t) in self._buckets.items() if now - t >= full_after]:
            del self._buckets[key]
        while len(self._buckets) > MAX_TRACKED_ADDRESSES * 0.9:  # all busy: forget the oldest
            del self._buckets[next(iter(self._buckets))]


def client_address(scope: Scope, trusted: list[Any]) -> str:
    """The peer's address; behind a configured proxy, the nearest untrusted address in
    X-Forwarded-For (anything further left is the client's own claim and may be forged).
    An IPv6 client counts as its /64: one subscriber line holds a whole /64."""
    return _bucket_key(_client_ip(scope, trusted))


def _bucket_key(address: str) -> str:
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    except ValueError:
        return address


def _client_ip(scope: Scope, trusted: list[Any]) -> str:
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = [
        v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"
    ]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def parse_proxies(values: tuple[str, ...]) -> list[Any]:
    """``--trusted-proxy`` values: addresses or networks (``10.0.0.5``, ``10.0.0.0/24``)."""
    from arayis_cli.errors import InvalidInput

    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"--trusted-proxy: not an IP address or network: {value}") from None
    return nets


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        buckets: TokenBuckets,
        max_body: int,
        trusted_proxies: list[Any],
        body_limit: Callable[[str, str], int | None] | None = None,
    ) -> None:
        """``body_limit(path, method)``: a path's own limit (None: ``max_body``)."""
        self.app = app
        self.body_limit = body_limit
        self.buckets = buckets
        self.max_body = max_body
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        wants_json = _wants_json(scope)
        lang = _language(scope)
        limit = self.max_body
        if self.body_limit is not None:
            own = self.body_limit(path, scope.get("method", ""))
            if own is not None:
                limit = own
                wants_json = _PROBLEM  # the API answers with problem documents
                lang = _accept_language(scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"set-cookie"
                ]
                headers.extend(SECURITY_HEADERS)
                if not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if not path.startswith(UNLIMITED):
            wait = self.buckets.take(client_address(scope, self.trusted))
            if wait > 0:
                await _refuse(
                    send_secured,
                    429,
                    "rate_limited",
                    lang,
                    wants_json,
                    extra=[(b"retry-after", str(math.ceil(wait)).encode())],
                )
                return
        if sum(len(k) + len(v) for k, v in scope.get("headers", ())) > MAX_HEADER_BYTES:
            await _refuse(send_secured, 431, "too_large", lang, wants_json)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send_secured, 413, "too_large", lang, wants_json)
            return
        received = 0
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_secured(message)

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, receive_limited, send_tracking)
        except BodyTooLarge:
            if not started:
                await _refuse(send_secured, 413, "too_large", lang, wants_json)


_PROBLEM = "problem"


def _accept_language(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"accept-language":
            return "en" if value.strip().lower().startswith(b"en") else "az"
    return "az"


class BodyTooLarge(Exception):
    """A streamed body passed the limit (no or a false Content-Length)."""


def _too_large(lang: str) -> str:
    from arayis_cli.i18n import N_, translations

    return translations(lang).gettext(N_("the request body is larger than allowed"))


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _wants_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            return b"application/json" in value
    return False


def _language(scope: Scope) -> str:
    """The language the request asks for, as the pages decide it (query, then header)."""
    from urllib.parse import parse_qs

    from arayis_cli.web.pages import language_of

    query = parse_qs(scope.get("query_string", b"").decode("latin-1")[:2000])
    accept = next(
        (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"),
        None,
    )
    return language_of((query.get("lang") or [None])[0], accept)


async def _refuse(
    send: Send,
    status: int,
    code: str,
    lang: str,
    wants_json: bool | str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    from arayis_cli.web.pages import error_page, text

    message = text(lang, code)
    if wants_json == _PROBLEM:
        from http import HTTPStatus

        problem = {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "code": code,
            "detail": message if code != "too_large" else _too_large(lang),
        }
        body = json.dumps(problem, ensure_ascii=False).encode()
        ctype = b"application/problem+json"
    elif wants_json:
        body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
        ctype = b"application/json"
    else:
        body = error_page(lang, message).encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
