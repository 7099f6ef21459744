"""One Settings class for every process; values come from the environment or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.proactive.rules import RecurrenceRule
from workflows.contracts import CasePolicy

ROOT = Path(__file__).resolve().parent.parent
# Temporal payload encryption for development only: the key is public, so production refuses
# to encrypt with it (core/temporal/codec.py). Its bytes spell "cityloop-development-only-key!!!".
DEV_PAYLOAD_KEYS = "dev:Y2l0eWxvb3AtZGV2ZWxvcG1lbnQtb25seS1rZXkhISE="


DEFAULT_SECRET_KEY = "dev-only-change-me"
MIN_SECRET_BYTES = 32
# Requests per client address (and per device token or Open311 api_key, where one is sent) on
# the public and login endpoints, as `limits` strings; docs/security.md lists the routes.
RATE_LIMITS = {
    "login": "30/minute",
    "report": "10/minute;60/hour",
    "upload": "30/minute;300/hour",
    "track": "30/minute;300/hour",
    "open311_post": "30/minute;600/hour",
    "alerts": "120/minute",
    "stats": "60/minute;600/hour",  # the public measures: each answer aggregates a month
}


class WhistleKindSetting(BaseModel):
    """One kind of whistle (吹哨报到): stage -> (limit, counted in working time)."""

    label: str
    needs_approval: bool = False
    stages: dict[str, tuple[str, bool]]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", env_file=".env", extra="ignore")

    env: str = "development"  # development | production: production logs JSON
    log_level: str = "INFO"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'cityloop.db'}"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "cityloop"
    task_queue: str = "cityloop-cases"
    ticket_prefix: str = "CL"  # minted tickets: CL20261129-000001
    secret_key: str = DEFAULT_SECRET_KEY  # keys CSRF tokens; production needs >= 32 bytes
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    dev_stack_file: Path = ROOT / "temporal-dev.yml"
    # How long a request waits for its case: intake for routing (then 202 with the ticket), an
    # action for the workflow (then 503: retry with the same Idempotency-Key).
    intake_wait_seconds: float = 15.0
    action_wait_seconds: float = 20.0
    # Working hours and deployment corrections to the holiday calendar (one ISO date a line,
    # "+2027-02-06" a make-up working day, "-2027-02-10" a day off).
    workday_start: str = "08:30"
    workday_end: str = "17:30"
    calendar_file: Path | None = None
    # Supervision: reminders at these fractions of a stage's limit (a category may set its own),
    # and the grace each supervising level gets before a late case climbs past it.
    reminders: list[float] = Field(default_factory=lambda: CasePolicy().reminders)
    escalation_grace: dict[str, str] = Field(default_factory=lambda: CasePolicy().grace)

    # 吹哨报到: each kind's label, whether a district leader approves it first, and the limits
    # of its steps (sign, contact, report), each counted from the summons as [limit, working].
    whistle_kinds: dict[str, WhistleKindSetting] = {
        "work_push": WhistleKindSetting(
            label="工作推进哨",
            stages={"sign": ("1h", True), "contact": ("24h", False), "report": ("3d", True)},
        ),
        "hard_problem": WhistleKindSetting(
            label="攻坚克难哨",
            needs_approval=True,
            stages={"sign": ("1h", True), "contact": ("24h", False), "report": ("5d", True)},
        ),
        "emergency": WhistleKindSetting(
            label="应急哨",
            stages={"sign": ("10m", False), "contact": ("20m", False), "report": ("30m", False)},
        ),
    }

    # Intake (issue 5). Boundaries of the area units, as GeoJSON features with a `unit_id`
    # property; the default is the synthetic demo layout of the demo org tree.
    boundaries_file: Path = ROOT / "core" / "data" / "demo-boundaries.geojson"
    # Map pages (issue 12): a tile layer under the boundaries, e.g. 天地图's
    # "https://t0.tianditu.gov.cn/vec_w/wmts?...&tk=KEY" (WGS-84/CGCS2000), or a GCJ-02 provider
    # with map_tile_crs="gcj02". Empty: boundaries on a plain background (no tile server).
    map_tile_url: str = ""
    map_tile_crs: Literal["wgs84", "gcj02"] = "wgs84"
    map_tile_attribution: str = ""
    # Attachments: stored under this directory by content hash, within these limits.
    attachment_dir: Path = ROOT / "var" / "attachments"
    max_image_bytes: int = 10 * 1024 * 1024
    max_video_bytes: int = 50 * 1024 * 1024
    # Sensor alarms of one device and type within this window join the case already open.
    alarm_window_minutes: int = 30
    # Automatic channels merge into a duplicate only when it lies this close (same category).
    certain_duplicate_m: float = 5.0

    # Uploads (issue 10). An image decodes to at most this many pixels for its thumbnail (a
    # baseline JPEG at 1/2 to 1/8 of each side), and a process decodes this many at once.
    image_decode_pixels: int = 16_000_000
    thumbnail_workers: int = 2
    # Daily quotas (China's calendar day): staff per user; the public per address and per
    # device (a browser's session), each in files and in bytes.
    upload_quota_user_files: int = 500
    upload_quota_user_bytes: int = 2 * 1024**3
    upload_quota_address_files: int = 200
    upload_quota_address_bytes: int = 1024**3
    upload_quota_device_files: int = 30
    upload_quota_device_bytes: int = 300 * 1024**2
    # A file no case holds is removed this many hours after its last upload, by a clean-up
    # that runs every so many minutes (a Temporal Schedule the worker creates).
    unattached_upload_hours: int = 24
    upload_cleanup_minutes: int = 60

    # Temporal payload encryption (docs/codec.md): the keys as "id:base64key,…", and the id of
    # the one that encrypts new payloads (the others only decrypt, for rotation). The Temporal
    # Web UI's origins may call the codec endpoint (/codec/decode) from the browser.
    payload_keys: str = DEV_PAYLOAD_KEYS
    payload_key_id: str = "dev"
    codec_cors_origins: list[str] = ["http://127.0.0.1:8233", "http://localhost:8233"]

    # Security (docs/security.md). Web sessions end this long after login, or after this long
    # without a request; bearer tokens live `token_days` unless minted with their own; the API
    # trusts a token it checked for `token_cache_seconds` (so revocation takes up to that long,
    # and authentication outlives a database outage as long).
    session_hours: float = 12
    session_idle_minutes: float = 120
    token_days: int = 90
    token_cache_seconds: float = 60
    # Failed logins allowed per user name and per client address before 429 (`limits` strings).
    login_failures_per_user: str = "5/15minutes"
    login_failures_per_address: str = "20/15minutes"
    rate_limits_enabled: bool = True
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(RATE_LIMITS))

    @field_validator("login_failures_per_user", "login_failures_per_address")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        parse_many(value)  # a typo fails at start-up, not at the first login
        return value

    @field_validator("rate_limits")
    @classmethod
    def _limits(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(RATE_LIMITS)
        if unknown:
            raise ValueError(f"unknown rate limits {sorted(unknown)}: use {sorted(RATE_LIMITS)}")
        for limit in value.values():
            parse_many(limit)
        return {**RATE_LIMITS, **value}  # naming one endpoint keeps the others' defaults

    # Process life and operations (issue 9). A stopping worker stops polling and gives running
    # activities this long to finish before cancelling them; `cityloop run` waits that long
    # (and a little more) before it kills a child. The worker serves Temporal's SDK metrics
    # and the projection lag for Prometheus at this address ("" for none); /readyz gives
    # Temporal and the database this long each to answer.
    shutdown_grace_seconds: float = 30.0
    worker_metrics_address: str = "127.0.0.1:9464"
    readiness_timeout_seconds: float = 2.0

    # Notifications out of the app (docs/notifications.md). Links in messages start with the
    # public base URL. E-mail goes through this SMTP server (tls: starttls | ssl | none); with
    # no host, e-mails are only logged. SMS goes through the gateway named here ("log": only
    # logged, the phone masked). A sender runs every `notify_every_seconds` (a Temporal
    # Schedule), sends up to `notify_batch` due messages, and gives a message up after
    # `notify_max_attempts` failed attempts, waiting longer after each.
    public_base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_sender: str = "cityloop <noreply@cityloop.localhost>"
    smtp_timeout_seconds: float = 10.0
    sms_gateway: str = "log"
    notify_every_seconds: int = Field(default=60, ge=10)
    notify_batch: int = Field(default=200, ge=1)
    notify_max_attempts: int = Field(default=8, ge=1)
    # 未诉先办 (docs/proactive.md): every `proactive_every_hours` a scan looks for places where
    # `min_cases` closed cases of one category lie within `radius_m` metres in `window_days`
    # days, and opens a proactive case for the street. `proactive_rules` overrides the default
    # per category, e.g. CITYLOOP_PROACTIVE_RULES='{"road_waterlogging": {"min_cases": 2}}'.
    proactive_every_hours: int = Field(default=24, ge=1)
    proactive_default: RecurrenceRule = RecurrenceRule()
    proactive_rules: dict[str, RecurrenceRule] = {}

    @property
    def is_production(self) -> bool:
        return self.env == "production"


class InsecureSettings(ValueError):
    """Settings production must not run with; the message names the setting."""


def check_production(settings: Settings) -> None:
    """Refuse weak settings in production: whoever knows the key forges what it signs."""
    if not settings.is_production:
        return
    key = settings.secret_key
    if key == DEFAULT_SECRET_KEY or len(key.encode()) < MIN_SECRET_BYTES:
        raise InsecureSettings(
            "CITYLOOP_SECRET_KEY must be set to a random value of at least "
            f"{MIN_SECRET_BYTES} bytes when CITYLOOP_ENV=production "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
