"""serve: the verification pages behind the QR code and the portal API."""

from __future__ import annotations

import typer

from arayis_cli.cli.output import JSON_OPT, command, say, state
from arayis_cli.i18n import N_, _


@command
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help=N_("Address to listen on.")),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help=N_("TCP port.")),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help=N_("Worker processes.")),
    rate_limit: int = typer.Option(
        60, "--rate-limit", min=1, help=N_("Requests per minute per client address (each worker).")
    ),
    burst: int = typer.Option(30, "--burst", min=1, help=N_("Requests a client may make at once.")),
    api_rate_limit: int = typer.Option(
        6000, "--api-rate-limit", min=1, help=N_("Portal API: requests per minute per API client.")
    ),
    api_burst: int = typer.Option(
        200, "--api-burst", min=1, help=N_("Portal API: requests an API client may make at once.")
    ),
    trusted_proxy: list[str] = typer.Option(
        [],
        "--trusted-proxy",
        help=N_("Reverse proxy address or network whose X-Forwarded-For is believed (repeatable)."),
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the verification service behind the QR code and the portal API (/api/v1)."""
    from arayis_cli.config import settings
    from arayis_cli.db import ensure_schema
    from arayis_cli.web.config import ServeConfig
    from arayis_cli.web.guard import parse_proxies

    parse_proxies(tuple(trusted_proxy))  # a typo is exit 2 now, not a silent open door
    ensure_schema(state.db_url)  # an unreachable register is a clear error before listening
    current = settings()
    config = ServeConfig(
        db_url=state.db_url,
        verify_base=current.verify_url_base,
        organisation=current.organisation,
        rate_per_minute=rate_limit,
        burst=burst,
        trusted_proxies=tuple(trusted_proxy),
        api_rate_per_minute=api_rate_limit,
        api_burst=api_burst,
        # Four uploads of the largest document in one request, and the multipart framing.
        api_max_body_bytes=4 * current.max_document_bytes + 64 * 1024,
    )
    from arayis_cli.web.server import run

    def announce() -> None:
        if not as_json:  # with --json, stderr carries only an error object, if any
            say(
                _(
                    "arayis: http://{host}:{port}/verify ({workers} worker(s)); Ctrl-C stops it"
                ).format(host=host, port=port, workers=workers)
            )

    run(config, host=host, port=port, workers=workers, announce=announce)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
