"""What one ``arayis serve`` process needs, passed to uvicorn's worker processes as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# uvicorn starts each worker by importing the app factory in a fresh (spawned) process: the
# options of ``arayis serve`` reach it through this one variable.
from arayis_cli.config import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_ORGANISATION,
    DEFAULT_VERIFY_URL,
    ENV_SERVE_CONFIG,  # noqa: F401 - where the workers read it
)

MAX_BODY_BYTES = 2 * 1024 * 1024  # a certificate PDF is ~20-60 KB; an upload is one PDF
MAX_TOKEN_CHARS = 200  # a real token is ~150 characters


@dataclass(frozen=True)
class ServeConfig:
    db_url: str
    # The settings' defaults (ARAYIS_VERIFY_URL, ARAYIS_ORGANISATION), written once there.
    verify_base: str = DEFAULT_VERIFY_URL
    organisation: str = DEFAULT_ORGANISATION
    # Token bucket per client address: this many requests at once, refilled at this many
    # per minute. A notary checks a handful; a scraper is stopped after the burst.
    rate_per_minute: int = 60
    burst: int = 30
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    max_body_bytes: int = MAX_BODY_BYTES
    # Verifications are written in batches at most this often (seconds): one commit per
    # batch instead of one per request keeps the register's write lock free.
    record_interval: float = 0.5
    # /api/v1: a token bucket per API client (not per address: the portal is one address
    # for every subscriber), the largest upload body, and how long a key's lookup is
    # remembered (a revoked key stops working within this many seconds).
    api_rate_per_minute: int = 6000
    api_burst: int = 200
    api_max_body_bytes: int = 4 * 10 * 1024 * 1024 + 64 * 1024
    # The largest document copy an upload may carry (``ARAYIS_MAX_DOCUMENT_BYTES``).
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    # The abonent code lengths (``ARAYIS_ABONENT_CODE_MIN`` / ``_MAX``).
    code_min: int = 6
    code_max: int = 12

    @property
    def code_lengths(self) -> tuple[int, int]:
        return self.code_min, self.code_max

    key_cache_seconds: float = 5.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        data["trusted_proxies"] = tuple(data.get("trusted_proxies") or ())
        return cls(**data)
