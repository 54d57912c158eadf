"""Settings: ARAYIS_* environment variables with sensible defaults.

Read lazily and cheaply: nothing here imports a heavy library.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_DB = "ARAYIS_DATABASE_URL"
ENV_OPERATOR = "ARAYIS_OPERATOR"
ENV_HOME = "ARAYIS_HOME"


def data_dir() -> Path:
    """The user's data directory for arayis (``ARAYIS_HOME`` overrides it)."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("arayis", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'arayis.db'}"


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still a usable name
        return "operator"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        from arayis_cli.errors import InvalidInput

        raise InvalidInput(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Policy settings with their environment variables."""

    organisation: str = field(
        default_factory=lambda: os.environ.get("ARAYIS_ORGANISATION", '"Azərsu" ASC')
    )
    max_document_bytes: int = field(
        default_factory=lambda: _int_env("ARAYIS_MAX_DOCUMENT_BYTES", 10 * 1024 * 1024)
    )
    certificate_validity_days: int = field(
        default_factory=lambda: _int_env("ARAYIS_CERTIFICATE_VALIDITY_DAYS", 30)
    )
    abonent_code_min: int = field(default_factory=lambda: _int_env("ARAYIS_ABONENT_CODE_MIN", 6))
    abonent_code_max: int = field(default_factory=lambda: _int_env("ARAYIS_ABONENT_CODE_MAX", 12))
    working_days_to_answer: int = 3
    calendar_override: str | None = field(
        default_factory=lambda: os.environ.get("ARAYIS_CALENDAR_OVERRIDE") or None
    )
    verify_url_base: str = field(
        default_factory=lambda: os.environ.get(
            "ARAYIS_VERIFY_URL", "https://arayis.azersu.az/verify/"
        )
    )


def abonent_code_lengths() -> tuple[int, int]:
    """Cheaper than building all settings: called once per imported row."""
    return _int_env("ARAYIS_ABONENT_CODE_MIN", 6), _int_env("ARAYIS_ABONENT_CODE_MAX", 12)


def settings() -> Settings:
    return Settings()
