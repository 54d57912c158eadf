"""Every call of the portal API recorded: client, route, application, HTTP status and
outcome (the problem's code, or ``ok``); nothing personal. Written in batches."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from arayis_cli.web.guard import BodyTooLarge

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from arayis_cli.web.recorder import Recorder

log = logging.getLogger("arayis.api")
PREFIX = "/api/v1"
APP_ID_MAX = 2**31 - 1


class CallLog:
    """Records every call (client, route, application, HTTP status, outcome) once the
    answer is sent; the handlers leave what they know in the request's state."""

    def __init__(self, app: Any, recorder: Recorder, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.recorder = recorder
        self.clock = clock  # the worker's

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watching(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except BodyTooLarge:
            raise  # the guard answers 413 if nothing was sent yet
        except Exception as exc:
            # Already answered (a 500 or 503 problem document); logged by type only,
            # since a database error's text can carry the values of a request.
            log.error("API call failed: %s", type(exc).__name__)
        finally:
            self.recorder.add(call_of(scope, status, at=self.clock()))


#: The routes' shapes, for calls answered before routing (a refused key): the path is
#: recorded as its route, never as typed (it could hold anything).
SHAPES = [
    (re.compile(r"/applications/(\d{1,10})/documents"), "/applications/{app_id}/documents"),
    (re.compile(r"/applications/(\d{1,10})/print"), "/applications/{app_id}/print"),
    (re.compile(r"/applications/(\d{1,10})"), "/applications/{app_id}"),
    (re.compile(r"/applications()"), "/applications"),
    (re.compile(r"/changes()"), "/changes"),
]


def call_of(scope: Any, status: int, *, at: datetime) -> Any:
    from arayis_cli.services.apikeys import Call

    state = scope.get("state") or {}
    app_id = state.get("application_id")
    path = getattr(scope.get("route"), "path", None)
    if path == PREFIX:  # the mount itself: answered before the API's own routing
        path = None
    typed = scope.get("path", "").removeprefix(PREFIX)
    for shape, template in SHAPES:
        found = shape.fullmatch(typed)
        if found:
            path = path or template
            if app_id is None and found.group(1):
                app_id = int(found.group(1))
            break
    if app_id is not None and not 1 <= app_id <= APP_ID_MAX:
        app_id = None
    outcome = state.get("outcome") or ("ok" if status < 400 else "error")
    return Call(
        at=at,
        client=state.get("client"),
        method=scope.get("method", "")[:7],
        route=(PREFIX + (path or "(no route)"))[:80],
        application_id=app_id,
        status=status,
        outcome=outcome[:30],
    )
