"""One Settings class for every process; values come from the environment or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.contracts import CasePolicy

ROOT = Path(__file__).resolve().parent.parent


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
    secret_key: str = "dev-only-change-me"  # signs web sessions; set it in production
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
    # Attachments: stored under this directory by content hash, within these limits.
    attachment_dir: Path = ROOT / "var" / "attachments"
    max_image_bytes: int = 10 * 1024 * 1024
    max_video_bytes: int = 50 * 1024 * 1024
    # Sensor alarms of one device and type within this window join the case already open.
    alarm_window_minutes: int = 30
    # Automatic channels merge into a duplicate only when it lies this close (same category).
    certain_duplicate_m: float = 5.0

    # Process life and operations (issue 9). A stopping worker stops polling and gives running
    # activities this long to finish before cancelling them; `cityloop run` waits that long
    # (and a little more) before it kills a child. The worker serves Temporal's SDK metrics
    # and the projection lag for Prometheus at this address ("" for none); /readyz gives
    # Temporal and the database this long each to answer.
    shutdown_grace_seconds: float = 30.0
    worker_metrics_address: str = "127.0.0.1:9464"
    readiness_timeout_seconds: float = 2.0

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
