"""SQL tables: the org tree, users, catalog, and the read model of cases and their events.

Schema changes go through Alembic (core/migrations); these classes are the source the
migrations are written from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    Table,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware.

    PostgreSQL keeps the zone; SQLite keeps none, so without this a value read back there
    would be naive and mean nothing to the UI or the API.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def _ts(**kw: object) -> Column:
    return Column(UTCDateTime(), **kw)  # type: ignore[arg-type]


class Unit(SQLModel, table=True):
    """A node of the five-level tree (city … grid) or a department, or an operations centre."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16, index=True)  # city district street community grid dept
    parent_id: str | None = Field(default=None, foreign_key="unit.id", index=True)
    path: str = Field(max_length=400, index=True)  # "/nj/gl/gl-hn/" — ancestor-or-self prefix
    dept_type: str = Field(default="", max_length=32)  # for departments: water, urban, …
    is_demo: bool = False


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)
    unit_id: str = Field(foreign_key="unit.id")
    is_demo: bool = False
    # A disabled user can neither log in nor use a token (security_events says who and why).
    disabled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=128, unique=True, index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    # The token's first characters, to name it in lists and revoke it without the whole token.
    prefix: str = Field(default="", max_length=16, index=True)
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Category(SQLModel, table=True):
    """A catalog class with its time limits and routing rule (部件 owner first, 事件 locality)."""

    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # component (部件) | event (事件) | hotline (12345)
    group_name: str = Field(max_length=50)  # 公用设施, 市容环境, … or the 12345 kind
    working_time: bool = True  # working calendar, or natural time
    limits: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Reminders (催办) at these fractions of each stage's limit; empty: the deployment default.
    reminders: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    owner_dept: str = Field(default="", max_length=32)  # dept_type of the owner, if any
    keywords: str = Field(default="", max_length=400)
    # Duplicate candidates (减少重复派单): open cases of this category within this radius,
    # received within this many hours.
    dedup_radius_m: int = 100
    dedup_window_hours: int = 72
    is_demo: bool = False


class CaseRecord(SQLModel, table=True):
    """The current snapshot of one case, as last written by the workflow."""

    __tablename__ = "cases"
    # Duplicate candidates are looked up by category and a latitude band.
    __table_args__ = (Index("ix_cases_category_lat", "category", "lat"),)

    id: str = Field(primary_key=True, max_length=120)  # the workflow id
    ticket: str = Field(max_length=80, unique=True, index=True)
    external_id: str = Field(default="", max_length=64, index=True)
    case_type: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(default="")
    category: str = Field(max_length=64, index=True)
    category_name: str = Field(max_length=100)
    priority: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)
    location_unit_id: str = Field(max_length=64)
    location_path: str = Field(max_length=400, index=True)
    district_id: str = Field(default="", max_length=64, index=True)
    street_id: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=300)
    assigned_unit_id: str = Field(default="", max_length=64, index=True)
    assigned_unit_name: str = Field(default="", max_length=100)
    stage: str = Field(default="", max_length=16)
    due_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    overdue: bool = Field(default=False, index=True)
    escalation_level: int = Field(default=0, index=True)
    return_count: int = 0
    rework_count: int = 0
    extension_count: int = 0
    rating: str = Field(default="", max_length=32)
    reporter_name: str = Field(default="", max_length=100)
    # Indexed: intake looks up a caller's earlier calls by number (issue 12).
    reporter_phone: str = Field(default="", max_length=32, index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_seq: int = 0
    lat: float | None = None
    lon: float | None = None
    request_kind: str = Field(default="", max_length=8)
    taken_by: str = Field(default="", max_length=64)  # who recorded it: sees the reporter unmasked
    report_count: int = 1  # this report plus the linked (merged) ones
    signal_count: int = 0  # sensor alarms that joined it
    direct_answer: bool = False  # a 咨询 answered on the spot (直接答复), closed without dispatch
    tracking_token: str = Field(default="", max_length=64, index=True)


class CaseEventRecord(SQLModel, table=True):
    """The audit trail: one row per event, unique by (case, sequence); the workflow's copy wins."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=120, index=True)
    seq: int
    at: datetime = Field(sa_column=_ts(nullable=False))
    action: str = Field(max_length=32)
    actor_username: str = Field(max_length=64)
    actor_name: str = Field(max_length=100)
    actor_role: str = Field(max_length=16)
    actor_unit_id: str = Field(max_length=64)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    reason: str = Field(default="")
    payload: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The hash chain (core/cases/audit.py): the previous event's hash, and this one's over both.
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class InboxItem(SQLModel, table=True):
    """A reminder, escalation or override addressed to a unit (its 待办消息)."""

    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("case_id", "seq", "unit_id", name="uq_inbox_case_seq_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(max_length=64, index=True)
    case_id: str = Field(max_length=120)
    ticket: str = Field(max_length=80)
    title: str = Field(max_length=200)
    seq: int
    kind: str = Field(max_length=32)  # the event's action: remind, escalate, reassign, …
    reason: str = Field(default="")
    created_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    read_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    read_by: str = Field(default="", max_length=64)


class WhistleRecord(SQLModel, table=True):
    """One summoned department's whistle (吹哨报到), as its workflow last wrote it; the rating
    comes from the case's `whistle_rate` event."""

    __tablename__ = "whistles"

    id: str = Field(primary_key=True, max_length=160)  # the whistle's workflow id
    case_id: str = Field(default="", max_length=120, index=True)
    ticket: str = Field(default="", max_length=80, index=True)
    title: str = Field(default="", max_length=200)
    round: int = 0
    kind: str = Field(default="", max_length=32)
    dept_id: str = Field(default="", max_length=64, index=True)
    dept_name: str = Field(default="", max_length=100)
    blower_unit_id: str = Field(default="", max_length=64, index=True)
    blower_unit_name: str = Field(default="", max_length=100)
    district_id: str = Field(default="", max_length=64)
    street_id: str = Field(default="", max_length=64, index=True)
    need: str = Field(default="")
    step: str = Field(default="", max_length=16, index=True)
    summoned_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    sign_due: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    contact_due: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    report_due: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    signed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    contacted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    reported_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    signed_in_time: bool | None = None
    reported_in_time: bool | None = None
    overdue: bool = False
    escalation_level: int = 0
    rating: int = 0  # 1-5; 0 = not rated
    rating_note: str = Field(default="")
    rated_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    closed_reason: str = Field(default="")
    last_seq: int = 0


class LinkedReportRecord(SQLModel, table=True):
    """A report merged into an existing case (关联工单): its own ticket resolves to the case.

    Holds the reporter's personal information, shown masked like a case's.
    """

    __tablename__ = "linked_reports"

    ticket: str = Field(primary_key=True, max_length=80)  # the report's own ticket
    case_id: str = Field(max_length=120, index=True)
    case_ticket: str = Field(max_length=80, index=True)
    channel: str = Field(max_length=32)
    request_kind: str = Field(default="", max_length=8)  # a 举报's text is never published
    title: str = Field(max_length=200)
    description: str = Field(default="")
    reporter_name: str = Field(default="", max_length=100)
    reporter_phone: str = Field(default="", max_length=32)
    taken_by: str = Field(default="", max_length=64)
    tracking_token: str = Field(default="", max_length=64, index=True)
    lat: float | None = None
    lon: float | None = None
    address: str = Field(default="", max_length=300)
    linked_by: str = Field(default="", max_length=64)
    linked_at: datetime = Field(sa_column=_ts(nullable=False, index=True))  # Open311 date filters
    split_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    split_by: str = Field(default="", max_length=64)
    split_reason: str = Field(default="")


class Attachment(SQLModel, table=True):
    """A stored file, named by its content hash: the same photo uploaded twice is kept once."""

    __tablename__ = "attachments"

    sha256: str = Field(primary_key=True, max_length=64)
    content_type: str = Field(max_length=64)
    kind: str = Field(max_length=8)  # image | video
    size: int
    filename: str = Field(default="", max_length=200)  # as uploaded, for display only
    has_thumbnail: bool = False
    uploaded_by: str = Field(default="", max_length=64)
    uploaded_at: datetime = Field(sa_column=_ts(nullable=False))
    # A copy without location and identifying metadata sits beside the file (`<sha>.clean`):
    # True; the file holds none to remove: False; None: stored before this was looked at.
    clean_copy: bool | None = None


class CaseAttachment(SQLModel, table=True):
    """Which attachments a case holds, from the events that brought them (idempotent)."""

    __tablename__ = "case_attachments"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_case_attachment"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=120, index=True)
    sha256: str = Field(max_length=64, index=True)
    seq: int  # the event that attached it
    added_by: str = Field(default="", max_length=64)
    added_at: datetime = Field(sa_column=_ts(nullable=False))


class Device(SQLModel, table=True):
    """A sensor that may post alarms (IoT), with the token it authenticates with."""

    __tablename__ = "devices"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=128, unique=True, index=True)
    # alarm type -> category key, e.g. {"water_level": "waterlogging"}
    alarm_categories: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    lat: float
    lon: float
    address: str = Field(default="", max_length=300)
    active: bool = True
    is_demo: bool = False


class AlarmStream(SQLModel, table=True):
    """The case one device's alarms of one type currently join (传感器告警归并)."""

    __tablename__ = "alarm_streams"

    device_id: str = Field(primary_key=True, max_length=64)
    alarm_type: str = Field(primary_key=True, max_length=32)
    generation: int = 0  # bumped when a new case opens for the stream
    ticket: str = Field(default="", max_length=80)
    last_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    count: int = 0  # alarms of the stream, all tickets
    forwarded: int = 0  # updates sent to the current ticket's case (Temporal caps a run's)


class Open311Key(SQLModel, table=True):
    """An Open311 client's api_key (stored hashed) and the system user it reports as."""

    __tablename__ = "open311_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=128, unique=True, index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    active: bool = True


class Team(SQLModel, table=True):
    """A handling team of a unit (处置力量)."""

    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="unit.id", index=True)
    name: str = Field(max_length=100)
    specialty: str = Field(default="", max_length=100)
    leader: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=32)
    active: bool = True
    is_demo: bool = False


class Person(SQLModel, table=True):
    """A person of a unit, in a team or not."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="unit.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    name: str = Field(max_length=100)
    role: str = Field(default="", max_length=50)
    phone: str = Field(default="", max_length=32)
    active: bool = True
    is_demo: bool = False


class Equipment(SQLModel, table=True):
    """A piece of equipment (装备): a vehicle by plate, a pump by serial."""

    __tablename__ = "equipment"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="unit.id", index=True)
    type: str = Field(max_length=50)
    name: str = Field(max_length=100)
    serial: str = Field(max_length=64, unique=True)  # plate or serial number
    status: str = Field(default="available", max_length=16)  # available allocated repair
    note: str = Field(default="")
    is_demo: bool = False


class Allocation(SQLModel, table=True):
    """A team or a piece of equipment allocated to a case, until released."""

    __tablename__ = "allocations"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=120, index=True)
    ticket: str = Field(max_length=80)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    equipment_id: int | None = Field(default=None, foreign_key="equipment.id", index=True)
    allocated_by: str = Field(max_length=64)
    allocated_at: datetime = Field(sa_column=_ts(nullable=False))
    reason: str = Field(default="")
    released_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    released_by: str = Field(default="", max_length=64)
    release_reason: str = Field(default="")


class TicketCounter(SQLModel, table=True):
    """Per-day serial for human-readable ticket numbers (流水号)."""

    day: str = Field(primary_key=True, max_length=8)
    value: int = 0


class IntakeKey(SQLModel, table=True):
    """An intake request's Idempotency-Key: a retry finds the report it made (issue 9).

    Written in the same transaction as the report's ticket, before the case starts, so a
    retry after any failure reuses that ticket: the start finds the case, or starts it.
    """

    __tablename__ = "intake_keys"

    scope: str = Field(primary_key=True, max_length=80)  # whose key: a user, device, the public
    key: str = Field(primary_key=True, max_length=100)
    fingerprint: str = Field(max_length=32)  # of the request: another body is refused
    ticket: str = Field(max_length=80)  # the report's own ticket
    case_ticket: str = Field(max_length=80)  # the case it opened (the same) or joined
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    created_at: datetime = Field(sa_column=_ts(nullable=False, index=True))


# ---- uploads (issue 10) ---------------------------------------------------------------------
class UploadRecord(SQLModel, table=True):
    """One accepted upload: which content, who sent it and from where (quotas, clean-up)."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_uploader", "uploader_kind", "uploader_id", "created_at"),
        Index("ix_uploads_address", "uploader_kind", "address", "created_at"),
        Index("ix_uploads_pending", "attached", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    uploader_kind: str = Field(max_length=8)  # user (staff, by username) | public (by device)
    uploader_id: str = Field(max_length=64)
    address: str = Field(default="", max_length=64)  # the client's IP address
    size: int
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    attached: bool = False  # a case holds the content: never a candidate for clean-up again


# ---- security (issue 10): server-side web sessions and the log of credential changes ------
class WebSessionRecord(SQLModel, table=True):
    """A logged-in web session; the cookie holds only its random id, stored here hashed."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    last_seen_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_reason: str = Field(default="", max_length=32)  # logout password_changed …
    address: str = Field(default="", max_length=64)  # where the login came from
    data: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SecurityEvent(SQLModel, table=True):
    """Who changed which credential, when and why: users disabled, tokens and keys revoked."""

    __tablename__ = "security_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    actor: str = Field(max_length=64)  # a username, or "cli:<os user>"
    action: str = Field(max_length=32)
    target: str = Field(max_length=120)
    reason: str = Field(default="")


# ---- personal information (article 20, 21): consent to publish, and who saw what ----------
class PublicationConsent(SQLModel, table=True):
    """Whether a report's text may be published (Open311), recorded when its ticket is minted.

    Keyed by the report's own ticket, so a report merged into a case, or split back out, keeps
    its reporter's answer. No row, or `publish` false: only a neutral summary is public.
    """

    __tablename__ = "publication_consents"

    ticket: str = Field(primary_key=True, max_length=80)
    publish: bool = False
    basis: str = Field(max_length=16)  # form (the citizen's box) | open311 | operator
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_column=_ts(nullable=False))


class PersonalDataView(SQLModel, table=True):
    """One record's personal information shown unmasked to one user (article 21)."""

    __tablename__ = "personal_data_views"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    viewer_username: str = Field(max_length=64, index=True)
    viewer_role: str = Field(max_length=16)
    viewer_unit_id: str = Field(max_length=64)
    subject_kind: str = Field(max_length=16)  # report (a case's or linked report's) | person | team
    subject_key: str = Field(max_length=80, index=True)  # the report's ticket, or the row's id
    area_path: str = Field(max_length=400, index=True)  # where the record lies: who may audit it
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    route: str = Field(default="", max_length=300)  # "GET /api/v1/cases/CL…": where it was shown


# ---- access (issue 10: one access policy) ----------------------------------------------------
class BulkJob(SQLModel, table=True):
    """A bulk override as its supervisor started it: who, when, what and why.

    Its progress lives in its workflow; this row is the record, and what the access policy
    reads to decide who may follow it (the creator, and supervisors over the creator's unit).
    """

    __tablename__ = "bulk_jobs"

    id: str = Field(primary_key=True, max_length=40)  # the workflow id, bulk-<12 hex>
    created_by: str = Field(max_length=64, index=True)
    unit_id: str = Field(max_length=64, index=True)  # the creator's unit
    action: str = Field(max_length=32)
    reason: str = Field(default="")
    filters: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expected: int = 0  # the preview count the supervisor confirmed
    created_at: datetime = Field(sa_column=_ts(nullable=False))


# Open cases (the overview's counts, categories and map) through a partial index: a few
# percent of a table of millions. Queries use the same text (core/measures/overview.py).
OPEN_CASE = "status NOT IN ('CLOSED', 'ARCHIVED', 'VOIDED')"
Index(
    "ix_cases_open_path",
    CaseRecord.__table__.c.location_path,  # type: ignore[attr-defined]
    postgresql_where=text(OPEN_CASE),
    sqlite_where=text(OPEN_CASE),
)
# "Cases this user recorded" is one arm of every list's access clause (core.access).
Index("ix_cases_taken_by", CaseRecord.__table__.c.taken_by)  # type: ignore[attr-defined]
Index("ix_linked_reports_taken_by", LinkedReportRecord.__table__.c.taken_by)  # type: ignore[attr-defined]


# ---- notifications out of the app (issue 12): the outbox, staff preferences, reporters' e-mail
class Notification(SQLModel, table=True):
    """One message to send (e-mail or SMS), decided where the case's events are projected.

    Unique by (case, seq, recipient, channel): a repeated projection adds nothing twice, and the
    key is the message id the receiver can recognise a duplicate by (delivery is at least once).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", "recipient", "channel", name="uq_notifications_key"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=120, index=True)
    seq: int  # the event that called for it
    recipient: str = Field(max_length=100)  # user:<username> | report:<ticket>
    channel: str = Field(max_length=8)  # email | sms
    kind: str = Field(max_length=16)  # tracking result remind escalate dispatch
    ticket: str = Field(max_length=80)  # the case's
    report_ticket: str = Field(default="", max_length=80)  # the reporter's own (tracking link)
    address: str = Field(max_length=254)  # where it goes, as known when it was decided
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    status: str = Field(default="pending", max_length=8)  # pending | sent | failed (gave up)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_ts(nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str = Field(default="", max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class NotificationPreference(SQLModel, table=True):
    """What a staff member asked to be told outside the app, and where (opt-in)."""

    __tablename__ = "notification_preferences"

    user_id: int = Field(primary_key=True, foreign_key="user.id")
    channel: str = Field(default="email", max_length=8)  # email | sms
    address: str = Field(default="", max_length=254)
    kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class ReporterContact(SQLModel, table=True):
    """A reporter's e-mail address, kept under the report's own ticket from the transaction
    that mints it (like its publication consent); the phone travels with the report."""

    __tablename__ = "reporter_contacts"

    ticket: str = Field(primary_key=True, max_length=80)
    email: str = Field(max_length=254)
    recorded_at: datetime = Field(sa_column=_ts(nullable=False))


class ProactiveSource(SQLModel, table=True):
    """A closed case that made its place recurring, and the proactive case opened there."""

    __tablename__ = "proactive_sources"

    proactive_ticket: str = Field(primary_key=True, max_length=80)
    source_ticket: str = Field(primary_key=True, max_length=80, index=True)


class RoutingOverride(SQLModel, table=True):
    """A supervisor's rule: cases of `category` in `area_unit_id` go to `unit_id` first.

    Never deleted: a revoked or replaced override keeps who accepted it, who ended it, and why.
    """

    __tablename__ = "routing_overrides"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=64, index=True)
    area_unit_id: str = Field(max_length=64, index=True)  # a street or a district
    unit_id: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    accepted_by: str = Field(max_length=64)
    accepted_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_by: str = Field(default="", max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoke_reason: str = Field(default="", max_length=500)


# ---- measures (issue 13): stage facts and per-case facts, derived from the audit trail -------
class CaseStageRecord(SQLModel, table=True):
    """One stage a case went through (立案派遣, 签收, 处置, 核查, 回访), as its events tell it.

    Rewritten whole from `case_events` at every projection (core/measures/facts.py), so a
    re-projection or the backfill yields the same rows.
    """

    __tablename__ = "case_stages"

    case_id: str = Field(primary_key=True, max_length=120)
    n: int = Field(primary_key=True)  # 1, 2, … in the order the stages started
    stage: str = Field(max_length=16)
    unit_id: str = Field(default="", max_length=64)  # who held the case as the stage ended
    started_at: datetime = Field(sa_column=_ts(nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # last one known
    overdue: bool = False  # its deadline passed (and no later extension cleared it)
    met: bool | None = None  # ended before its deadline; None while open and not overdue
    reminders: int = 0
    escalations: int = 0  # rungs climbed (督办)
    returns: int = 0  # 退单 ending it
    reworks: int = 0  # 返工 ending it (verification failed, or the callback reopened it)
    extensions: int = 0


# Closed cases the measures count (core/measures/definitions.py `counted`), and what a measure
# reads of them to find a P90 without visiting the table.
COUNTED_CLOSED = "handling_minutes IS NOT NULL AND NOT direct_answer AND NOT voided"
FACT_KEYS = [
    "location_path",
    "district_id",
    "street_id",
    "unit_id",
    "category",
    "channel",
    "request_kind",
]


class CaseFactRecord(SQLModel, table=True):
    """What the measures count about one case (docs/measures.md), with the dimensions they
    group by copied from the case's row, so each measure reads one table."""

    __tablename__ = "case_facts"
    __table_args__ = (
        Index("ix_case_facts_received", "received_at", "district_id"),
        Index("ix_case_facts_open", "closed_at", "district_id"),
        # The P90 of a year reads only the facts in one histogram bucket of case_fact_months:
        # an index-only scan of this partial index (core/measures/queries.py `_refine`).
        Index(
            "ix_case_facts_minutes",
            "handling_minutes",
            "received_at",
            postgresql_include=FACT_KEYS,
            postgresql_where=text(COUNTED_CLOSED),
            sqlite_where=text(COUNTED_CLOSED),
        ),
    )

    case_id: str = Field(primary_key=True, max_length=120)
    district_id: str = Field(default="", max_length=64)
    street_id: str = Field(default="", max_length=64)
    unit_id: str = Field(default="", max_length=64)  # the holder (after returns, reassignments)
    category: str = Field(default="", max_length=64)
    channel: str = Field(default="", max_length=32)
    request_kind: str = Field(default="", max_length=8)
    location_path: str = Field(default="", max_length=400)  # for the access clause
    status: str = Field(default="", max_length=16)
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    first_unit_id: str = Field(default="", max_length=64)  # the first dispatch (首接)
    accepted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    accept_met: bool | None = None  # the first 签收 stage met its deadline
    feedback_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    feedback_met: bool | None = None  # the first 处置 stage ended in 反馈 before its deadline
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    closed_on_time: bool | None = None  # closed, no 处置 stage overdue
    handling_minutes: int | None = None  # received → closed, natural minutes
    first_contact_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    satisfaction: str = Field(default="", max_length=32)  # the last callback's rating
    resolved: bool | None = None  # 已解决 / 未解决, when the callback recorded it
    unreachable: bool = False  # the last callback could not reach the caller (联系不上)
    callbacks: int = 0
    returns: int = 0
    reworks: int = 0
    extensions: int = 0
    reminders: int = 0
    escalations: int = 0
    whistles: int = 0  # 吹哨 rounds blown
    overdue: bool = False  # any stage overdue
    voided: bool = False  # 注销 (out of scope) or voided as invalid
    direct_answer: bool = False
    lat: float | None = None
    lon: float | None = None


# The counters of `case_fact_months`, in order: cases, each case measure's numerator and
# denominator (core/measures/definitions.py), the closed cases' handling minutes (how many, and
# their sum); then closed cases per handling-minutes bucket (core/measures/rollup.py BOUNDS).
FACT_MONTH_COUNTS = (
    "cases",
    *(
        f"{key}_{part}"
        for key in (
            "response",
            "resolution",
            "satisfaction",
            "closed_on_time",
            "accepted_in_time",
            "feedback_on_time",
            "rework",
            "overdue",
            "returned",
            "extended",
            "supervised",
            "whistled",
        )
        for part in ("n", "d")
    ),
    "minutes_n",
    "minutes_sum",
)
FACT_MONTH_BUCKETS = 77
# The facts of one month summed per grouping, place and group (docs/measures.md): what a
# year's measures add up instead of reading a million facts; kept by core/measures/rollup.py
# in the transaction that writes the facts, so it always equals them. A Core table: a hundred
# counters are summed in SQL, never handled as one object.
CASE_FACT_MONTHS = Table(
    "case_fact_months",
    SQLModel.metadata,
    Column("grouping", AutoString(16), primary_key=True),  # a key of GROUPINGS
    Column("month", AutoString(7), primary_key=True),  # YYYY-MM, Beijing time, as received
    Column("place", AutoString(400), primary_key=True),  # location_path cut at the street
    Column("key", AutoString(64), primary_key=True),  # the group ("" for all)
    *(Column(name, BigInteger, nullable=False, default=0) for name in FACT_MONTH_COUNTS),
    *(Column(f"h{b}", Integer, nullable=False, default=0) for b in range(FACT_MONTH_BUCKETS)),
)
