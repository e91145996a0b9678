"""Settings: the only module that reads the environment (and an optional `.env` file).

A missing or malformed setting stops start-up with one line naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

DEFAULT_DB_URL: Final = "sqlite:///./var/canishare.db"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class StartupError(Exception):
    """The bot cannot start (the port is taken, the store cannot be written…); the message
    names the cause in one line."""


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 3978
    public_url: str = ""
    org_file: Path | None = None
    # trained classifiers are kept here, named by the knowledge version (None: train every start)
    model_cache: Path | None = field(default_factory=lambda: model_cache_dir(os.environ))
    idle_hours: float = 24.0
    retention_days: int = 2555  # about 7 years, a common safeguarding records schedule
    undelivered_alert_minutes: int = 60
    rate_limit_per_minute: int = 30
    delivery_lease_seconds: float = 60.0
    keep_unanswered_days: int = 0  # 0: never keep the text of questions the bot couldn't answer
    header_timeout_seconds: float = 10.0  # a request's headers must arrive within this
    body_timeout_seconds: float = 10.0  # and its body within this once the headers are in
    max_connections: int = 1000  # open HTTP connections; kept below the file-descriptor limit
    debug: bool = False  # full tracebacks in the log (never on by default)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    record_channel: str = ""
    leads_channel: str = ""
    ms_app_id: str = ""
    ms_app_password: str = ""
    ms_app_tenant_id: str = ""
    ms_app_type: str = "SingleTenant"
    teams_dev: bool = False  # CANISHARE_TEAMS_DEV: unauthenticated, loopback serviceUrl only
    teams_record_conversation: str = ""
    teams_leads_conversation: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def teams_auth_enabled(self) -> bool:
        return bool(self.ms_app_id)

    @property
    def teams_enabled(self) -> bool:
        """Serve `POST /api/messages`: Teams is configured, or local development is asked for."""
        return bool(self.ms_app_id) or self.teams_dev


_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{6,}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def model_cache_dir(env: Mapping[str, str]) -> Path | None:
    """CANISHARE_MODEL_CACHE, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache);
    "none" keeps no cache (the classifiers are then trained at every start, about half a minute)."""
    raw = env.get("CANISHARE_MODEL_CACHE", "").strip()
    if raw.lower() in ("none", "off", "0"):
        return None
    if raw:
        return Path(raw).expanduser()
    base = env.get("XDG_CACHE_HOME", "").strip() or str(Path(env.get("HOME", "~")) / ".cache")
    return Path(base).expanduser() / "canishare" / "models"


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are ignored, quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(content.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}: line {number} is not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Build Settings from `.env` (if present) overlaid by the environment."""
    env: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
    env.update(os.environ if environ is None else environ)

    def text(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def number(name: str, default: float, *, low: float, high: float, whole: bool = True) -> float:
        raw = text(name)
        if not raw:
            return default
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise SettingsError(f"{name} must be {kind} (got {raw!r})") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low:g} and {high:g} (got {raw})")
        return value

    def switch(name: str) -> bool:
        raw = text(name).lower()
        if raw in ("", "0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise SettingsError(f"{name} must be 1 or 0 (got {text(name)!r})")

    db_url = text("CANISHARE_DB_URL", DEFAULT_DB_URL)
    if not db_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(
            "CANISHARE_DB_URL must start with sqlite:/// or postgresql:// "
            f"(got {db_url.split('://')[0]!r})"
        )
    org = text("CANISHARE_ORG_FILE")
    if org and not Path(org).is_file():
        raise SettingsError(f"CANISHARE_ORG_FILE names a file that does not exist: {org}")
    api_url = text("SLACK_API_URL", "https://slack.com/api/")
    if not api_url.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL (got {api_url!r})")
    if not api_url.endswith("/"):
        api_url += "/"
    settings = Settings(
        db_url=db_url,
        host=text("CANISHARE_HOST", "127.0.0.1"),
        port=int(number("CANISHARE_PORT", 3978, low=1, high=65535)),
        public_url=text("CANISHARE_PUBLIC_URL").rstrip("/"),
        org_file=Path(org) if org else None,
        model_cache=model_cache_dir(env),
        idle_hours=number("CANISHARE_IDLE_HOURS", 24.0, low=0.01, high=24 * 30, whole=False),
        retention_days=int(number("CANISHARE_RETENTION_DAYS", 2555, low=1, high=36500)),
        undelivered_alert_minutes=int(
            number("CANISHARE_UNDELIVERED_ALERT_MINUTES", 60, low=1, high=10080)
        ),
        rate_limit_per_minute=int(number("CANISHARE_RATE_LIMIT", 30, low=1, high=10000)),
        delivery_lease_seconds=number(
            "CANISHARE_DELIVERY_LEASE_SECONDS", 60.0, low=1, high=3600, whole=False
        ),
        keep_unanswered_days=int(number("CANISHARE_KEEP_UNANSWERED_DAYS", 0, low=0, high=365)),
        header_timeout_seconds=number(
            "CANISHARE_HEADER_TIMEOUT_SECONDS", 10.0, low=0.1, high=300, whole=False
        ),
        body_timeout_seconds=number(
            "CANISHARE_BODY_TIMEOUT_SECONDS", 10.0, low=0.1, high=300, whole=False
        ),
        max_connections=int(number("CANISHARE_MAX_CONNECTIONS", 1000, low=8, high=1_000_000)),
        debug=switch("CANISHARE_DEBUG"),
        slack_bot_token=text("SLACK_BOT_TOKEN"),
        slack_signing_secret=text("SLACK_SIGNING_SECRET"),
        slack_app_token=text("SLACK_APP_TOKEN"),
        slack_api_url=api_url,
        record_channel=text("CANISHARE_RECORD_CHANNEL"),
        leads_channel=text("CANISHARE_LEADS_CHANNEL"),
        ms_app_id=text("MicrosoftAppId"),
        ms_app_password=text("MicrosoftAppPassword"),
        ms_app_tenant_id=text("MicrosoftAppTenantId"),
        ms_app_type=text("MicrosoftAppType", "SingleTenant") or "SingleTenant",
        teams_dev=switch("CANISHARE_TEAMS_DEV"),
        teams_record_conversation=text("CANISHARE_TEAMS_RECORD_CONVERSATION"),
        teams_leads_conversation=text("CANISHARE_TEAMS_LEADS_CONVERSATION"),
        extra={k: v for k, v in env.items() if k.startswith("CANISHARE_TEST_")},
    )
    _check_platforms(settings)
    return settings


def _check_platforms(s: Settings) -> None:
    if s.slack_bot_token and not s.slack_bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting xoxb-")
    if s.slack_app_token and not s.slack_app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting xapp-")
    if s.slack_bot_token and not (s.slack_signing_secret or s.slack_app_token):
        raise SettingsError(
            "SLACK_SIGNING_SECRET is missing: Slack requests cannot be verified without it"
        )
    if (s.slack_signing_secret or s.slack_app_token) and not s.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is missing: the Slack app cannot reply without it")
    for name, value in (
        ("CANISHARE_RECORD_CHANNEL", s.record_channel),
        ("CANISHARE_LEADS_CHANNEL", s.leads_channel),
    ):
        if value and not _SLACK_CHANNEL.match(value):
            raise SettingsError(
                f"{name} must be a Slack channel id like C0123456789 (got {value!r})"
            )
    if s.ms_app_type not in ("SingleTenant", "UserAssignedMSI", "MultiTenant"):
        raise SettingsError(
            "MicrosoftAppType must be SingleTenant, UserAssignedMSI or MultiTenant "
            f"(got {s.ms_app_type!r})"
        )
    if s.ms_app_id and not _GUID.match(s.ms_app_id):
        raise SettingsError(
            f"MicrosoftAppId must be the bot's app (client) id, a GUID (got {s.ms_app_id!r})"
        )
    # A managed identity gets its tokens from the platform: it has no password to give.
    if s.ms_app_id and s.ms_app_type != "UserAssignedMSI" and not s.ms_app_password:
        raise SettingsError(
            f"MicrosoftAppPassword is missing: a {s.ms_app_type} bot needs its client secret "
            "(or set MicrosoftAppType=UserAssignedMSI to use a managed identity)"
        )
    if s.ms_app_id and s.ms_app_type != "MultiTenant" and not s.ms_app_tenant_id:
        raise SettingsError(
            f"MicrosoftAppTenantId is missing: a {s.ms_app_type} bot needs its directory "
            "(tenant) id, shown on the Azure Bot's Configuration page"
        )
