"""``arayis serve``: uvicorn in front of the app, one or several worker processes."""

from __future__ import annotations

import os

from arayis_cli.web.config import ENV_SERVE_CONFIG, ServeConfig


def run(config: ServeConfig, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    common = {
        "host": host,
        "port": port,
        # X-Forwarded-For is read by the app itself, and only from --trusted-proxy.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "limit_concurrency": 1000,
        # uvicorn's own header/line limits stay at their defaults; bodies are capped by Guard.
    }
    if workers > 1:
        # Each worker is a fresh process that imports the factory: it reads this variable.
        os.environ[ENV_SERVE_CONFIG] = config.to_json()
        uvicorn.run(
            "arayis_cli.web.app:app_from_environment", factory=True, workers=workers, **common
        )
    else:
        from arayis_cli.web.app import create_app

        uvicorn.run(create_app(config), **common)
