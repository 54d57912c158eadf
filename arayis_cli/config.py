"""Settings: every ``ARAYIS_*`` environment variable, read and checked in one place.

Nothing else in the package reads ``os.environ`` (a test keeps it so; the model is
fastapi/full-stack-fastapi-template ``core/config.py``). A nonsense value is refused
with exit 2 and a message naming the variable (docs/settings.md), whatever the command.

:meth:`Settings.from_env` is called once per invocation (the run's ``settings``,
``arayis_cli/run.py``) and once per web worker (``arayis_cli/web/app.py``); the values are
handed down from there. There is no process-wide copy: one run's settings are never
another's.

Cheap to import: only the standard library, and heavy helpers inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from arayis_cli.i18n import ENV_LANG, LANGUAGES, _

ENV_DB = "ARAYIS_DATABASE_URL"
ENV_OPERATOR = "ARAYIS_OPERATOR"
ENV_HOME = "ARAYIS_HOME"
ENV_ORGANISATION = "ARAYIS_ORGANISATION"
ENV_MAX_DOCUMENT_BYTES = "ARAYIS_MAX_DOCUMENT_BYTES"
ENV_VALIDITY_DAYS = "ARAYIS_CERTIFICATE_VALIDITY_DAYS"
ENV_CODE_MIN = "ARAYIS_ABONENT_CODE_MIN"
ENV_CODE_MAX = "ARAYIS_ABONENT_CODE_MAX"
ENV_CALENDAR_OVERRIDE = "ARAYIS_CALENDAR_OVERRIDE"
ENV_VERIFY_URL = "ARAYIS_VERIFY_URL"
ENV_SIGNING_KEY = "ARAYIS_SIGNING_KEY"
ENV_SIGNING_KEY_PASSPHRASE_FILE = "ARAYIS_SIGNING_KEY_PASSPHRASE_FILE"
ENV_SMTP_URL = "ARAYIS_SMTP_URL"
ENV_MAIL_FROM = "ARAYIS_MAIL_FROM"
ENV_NOW = "ARAYIS_NOW"
ENV_DEBUG = "ARAYIS_DEBUG"

#: Every variable the settings read (the next run sees a change to any of them).
ENV_NAMES = (
    ENV_DB,
    ENV_OPERATOR,
    ENV_HOME,
    ENV_ORGANISATION,
    ENV_MAX_DOCUMENT_BYTES,
    ENV_VALIDITY_DAYS,
    ENV_CODE_MIN,
    ENV_CODE_MAX,
    ENV_CALENDAR_OVERRIDE,
    ENV_VERIFY_URL,
    ENV_SIGNING_KEY,
    ENV_SIGNING_KEY_PASSPHRASE_FILE,
    ENV_SMTP_URL,
    ENV_MAIL_FROM,
    ENV_LANG,
    ENV_NOW,
    ENV_DEBUG,
)

DEFAULT_ORGANISATION = '"Azərsu" ASC'
DEFAULT_VERIFY_URL = "https://arayis.azersu.az/verify/"
DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: Beyond this a validity makes no sense for a snapshot of a debt (and dates overflow).
MAX_VALIDITY_DAYS = 3660
#: The abonent code column holds at most 20 characters.
MAX_CODE_LENGTH = 20
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Every setting of the tool, with the variable that sets it (README: Settings)."""

    #: ``ARAYIS_HOME``: the data directory (database, keys, calendar override).
    home: Path | None = None
    #: ``ARAYIS_DATABASE_URL`` (``--db`` overrides it); None: a SQLite file in ``home``.
    database_url: str | None = None
    #: ``ARAYIS_OPERATOR`` (``--operator`` overrides it); None: the OS user name.
    operator: str | None = None
    #: ``ARAYIS_ORGANISATION``: printed on certificates and in emails.
    organisation: str = DEFAULT_ORGANISATION
    #: ``ARAYIS_MAX_DOCUMENT_BYTES``: the largest document copy accepted.
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    #: ``ARAYIS_CERTIFICATE_VALIDITY_DAYS``: validity printed on the certificate.
    certificate_validity_days: int = 30
    #: ``ARAYIS_ABONENT_CODE_MIN`` / ``_MAX``: abonent code length in digits.
    abonent_code_min: int = 6
    abonent_code_max: int = 12
    #: ``ARAYIS_CALENDAR_OVERRIDE``: extra rest days / working Saturdays.
    calendar_override: Path | None = None
    #: ``ARAYIS_VERIFY_URL``: base of the verification URL in the QR code.
    verify_url_base: str = DEFAULT_VERIFY_URL
    #: ``ARAYIS_SIGNING_KEY``: PEM file of the Ed25519 signing key; None: ``home/keys``.
    signing_key: Path | None = None
    #: ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE``: a file whose first line is the passphrase
    #: protecting the signing key file (``keys init`` encrypts with it); None: no passphrase.
    signing_key_passphrase_file: Path | None = None
    #: ``ARAYIS_SMTP_URL`` / ``ARAYIS_MAIL_FROM``: checked by ``outbox send`` when used.
    smtp_url: str | None = None
    mail_from: str | None = None
    #: ``ARAYIS_LANG``: language of messages (``az`` or ``en``).
    lang: str = "az"
    #: ``ARAYIS_NOW``: a frozen clock for rehearsals and tests; None: the real time.
    now: datetime | None = None
    #: ``ARAYIS_DEBUG``: show tracebacks of internal errors.
    debug: bool = False

    @property
    def abonent_code_lengths(self) -> tuple[int, int]:
        return self.abonent_code_min, self.abonent_code_max

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; :class:`InvalidInput` names the first bad one."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        code_min = _int(env, ENV_CODE_MIN, 6, low=1, high=MAX_CODE_LENGTH)
        code_max = _int(env, ENV_CODE_MAX, 12, low=1, high=MAX_CODE_LENGTH)
        if code_min > code_max:
            _refuse(
                _("{ENV_CODE_MIN} ({code_min}) must not be larger than {ENV_CODE_MAX}").format(
                    ENV_CODE_MIN=ENV_CODE_MIN, code_min=code_min, ENV_CODE_MAX=ENV_CODE_MAX
                )
            )
        home, override, key = text(ENV_HOME), text(ENV_CALENDAR_OVERRIDE), text(ENV_SIGNING_KEY)
        return cls(
            home=Path(home) if home else None,
            database_url=text(ENV_DB),
            operator=text(ENV_OPERATOR),
            organisation=_organisation(text(ENV_ORGANISATION)),
            max_document_bytes=_int(
                env, ENV_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_BYTES, low=1, high=2**40
            ),
            certificate_validity_days=_int(
                env, ENV_VALIDITY_DAYS, 30, low=1, high=MAX_VALIDITY_DAYS
            ),
            abonent_code_min=code_min,
            abonent_code_max=code_max,
            calendar_override=Path(override) if override else None,
            verify_url_base=_verify_url(text(ENV_VERIFY_URL)),
            signing_key=Path(key) if key else None,
            signing_key_passphrase_file=(
                Path(phrase) if (phrase := text(ENV_SIGNING_KEY_PASSPHRASE_FILE)) else None
            ),
            smtp_url=text(ENV_SMTP_URL),
            mail_from=text(ENV_MAIL_FROM),
            lang=_lang(text(ENV_LANG)),
            now=_now(text(ENV_NOW)),
            debug=_flag(text(ENV_DEBUG), ENV_DEBUG),
        )

    def calendar_file(self) -> Path | None:
        """``ARAYIS_CALENDAR_OVERRIDE``, else ``calendar-override.txt`` in the data directory
        when there is one: the extra rest days and working Saturdays of the calendar."""
        if self.calendar_override is not None:
            return self.calendar_override
        candidate = self.data_dir() / "calendar-override.txt"
        return candidate if candidate.is_file() else None

    def data_dir(self) -> Path:
        """The user's data directory for arayis (``ARAYIS_HOME`` overrides it)."""
        if self.home is not None:
            return self.home
        from platformdirs import user_data_dir

        return Path(user_data_dir("arayis", appauthor=False))


def _refuse(message: str) -> NoReturn:
    from arayis_cli.errors import InvalidInput

    raise InvalidInput(message)


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only: int() would also take "1_000", "١٢" or "+5".
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        _refuse(
            _("{name} must be a whole number from {low} to {high}, got {shown}").format(
                name=name, low=low, high=high, shown=_shown(raw)
            )
        )
    return int(raw)


def _organisation(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_ORGANISATION
    if len(raw) > 200 or not raw.isprintable():
        _refuse(
            _("{ENV_ORGANISATION} must be printable text of at most 200 characters").format(
                ENV_ORGANISATION=ENV_ORGANISATION
            )
        )
    return raw


def _verify_url(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_VERIFY_URL
    if not raw.startswith(("https://", "http://")) or not raw.isprintable() or " " in raw:
        _refuse(
            _("{ENV_VERIFY_URL} must be an http(s):// URL, got {shown}").format(
                ENV_VERIFY_URL=ENV_VERIFY_URL, shown=_shown(raw)
            )
        )
    return raw


def _lang(raw: str | None) -> str:
    if raw is None:
        return "az"
    if raw.lower() not in LANGUAGES:
        _refuse(
            _("{ENV_LANG} must be one of {LANGUAGES}, got {shown}").format(
                ENV_LANG=ENV_LANG, LANGUAGES=", ".join(LANGUAGES), shown=_shown(raw)
            )
        )
    return raw.lower()


def _now(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    from arayis_cli.validation import parse_datetime

    return parse_datetime(raw, ENV_NOW)  # its refusal already names the variable


def _flag(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    _refuse(
        _("{name} must be 1 or 0 (on or off), got {shown}").format(name=name, shown=_shown(raw))
    )


def default_database_url(current: Settings) -> str:
    """``ARAYIS_DATABASE_URL``, or the SQLite file in the data directory."""
    return current.database_url or f"sqlite:///{current.data_dir() / 'arayis.db'}"


def default_operator(current: Settings) -> str:
    """``ARAYIS_OPERATOR``, or the OS user name."""
    configured = current.operator
    if configured:
        return configured
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still a usable name
        return "operator"


# -- internal hand-over, not a setting -----------------------------------------------------

ENV_SERVE_CONFIG = "ARAYIS_SERVE_CONFIG"


def hand_to_workers(serve_config_json: str) -> None:
    """``arayis serve --workers N``: each uvicorn worker is a fresh process that reads the
    service's configuration from this variable (set by the parent, never by a person)."""
    os.environ[ENV_SERVE_CONFIG] = serve_config_json


def handed_to_worker() -> str | None:
    """The configuration :func:`hand_to_workers` left for this worker process."""
    return os.environ.get(ENV_SERVE_CONFIG) or None
