"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) on cityloop's own terms.

The catalog's categories are the services; every report is a service request under its own
ticket. A report merged into an open case (减少重复派单) keeps its ticket and shows the status
of the case it joined. Requests are read from the SQL read model and turned into plain dicts
that `api/routes/open311.py` renders as JSON or XML.

Article 20: reporters' names, phones and e-mail addresses never leave through this API. A
report's text, address and point are published only when its reporter agreed
(`core/intake/consent.py`), and then scrubbed of names, ID numbers, phones, e-mails and building
detail; every other request shows a neutral summary: service, street, status and dates.
`core.privacy.shown` decides each field from its class.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from core.cases.service import CaseError, CaseService, IntakeRequest
from core.db import SessionFactory, session_scope
from core.errors import IntakePending
from core.intake import consent
from core.intake.service import IntakeResult
from core.models import CaseRecord, Category, LinkedReportRecord, Open311Key, Unit
from core.notify.addresses import EMAIL_PATTERN
from core.privacy.masking import Shown, Subject, mask, shown
from core.security.tokens import token_digest
from workflows.case.transitions import STATUS_NAMES
from workflows.contracts import Actor, Role, Status
from workflows.shared.workcal import CST

JURISDICTION = "nanjing"
CHANGESET = datetime(2026, 11, 29, tzinfo=CST)  # when this API's discovery last changed
CLOSED = frozenset({Status.CLOSED, Status.ARCHIVED, Status.VOIDED})
MAX_RESULTS = 1000
WINDOW = timedelta(days=90)
PRIVATE_KINDS = frozenset({"举报"})  # 12345 tip-offs: their text is never published
TIP_OFF = "（举报内容不公开）"
NOT_PUBLISHED = "（诉求内容未经反映人同意公开）"
MEDIA = "\n媒体: "  # how a media_url rides in the description: we cannot fetch URLs here
KIND_NAMES = {"component": "部件", "event": "事件", "hotline": "12345诉求"}
UNIT_NAMES = {"m": "分钟", "h": "小时", "d": "天"}  # of the catalog's compact limits: "2h"


class Open311Error(Exception):
    """A refusal in the spec's terms: HTTP status code and a description for the client."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


# ---- api keys --------------------------------------------------------------------------
def mint_open311_key(session: Session, name: str) -> str:
    """Create an api_key for the client `name`; only its digest is stored.

    Returns:
        The plain key, shown once.
    """
    # The client reports as "open311:<name>", which the audit trail keeps in 64 characters.
    if not 0 < len(name.strip()) <= 48 or not name.isprintable():
        raise ValueError("an Open311 client's name is 1 to 48 printable characters")
    key = "o311_" + secrets.token_urlsafe(32)
    session.add(
        Open311Key(name=name.strip(), key_hash=token_digest(key), created_at=datetime.now(UTC))
    )
    return key


def client_for_key(session: Session, api_key: str) -> Open311Key | None:
    """The active client holding `api_key`, if any."""
    if not api_key:
        return None
    query = select(Open311Key).where(
        Open311Key.key_hash == token_digest(api_key), col(Open311Key.active).is_(True)
    )
    return session.exec(query).first()


def check_jurisdiction(jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != JURISDICTION:
        raise Open311Error(
            404,
            f"jurisdiction_id {jurisdiction_id!r} not found: this endpoint serves {JURISDICTION!r}",
        )


# ---- discovery and services ------------------------------------------------------------
def discovery(url: str) -> dict[str, Any]:
    """The service discovery document of this endpoint, served at `url`."""
    changed = w3c(CHANGESET)
    return {
        "changeset": changed,
        "contact": "南京市城市运行管理中心 (Nanjing city operations centre), via 12345",
        "key_service": "api_key: issued by the operations centre's administrators on request",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url,
                "changeset": changed,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def services(session: Session) -> list[dict[str, Any]]:
    """Every catalog category as an Open311 service."""
    rows = session.exec(select(Category).order_by(col(Category.kind), col(Category.key)))
    return [_service(c) for c in rows]


def _service(category: Category) -> dict[str, Any]:
    kind = KIND_NAMES.get(category.kind, category.kind)
    clock = "工作时间" if category.working_time else "自然时间"
    handle = category.limits.get("handle", "")
    amount, unit = handle[:-1], UNIT_NAMES.get(handle[-1:], "")
    limit = f"；处置时限 {amount} {unit}（{clock}）" if amount.isdigit() and unit else ""
    return {
        "service_code": category.key,
        "service_name": category.name,
        "description": f"{kind} · {category.group_name}：{category.name}{limit}",
        "metadata": False,  # no attributes beyond the standard fields
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group_name,
    }


def service_definition(session: Session, service_code: str) -> dict[str, Any]:
    if session.get(Category, service_code) is None:
        raise Open311Error(404, f"service_code {service_code!r} not found")
    return {"service_code": service_code, "attributes": []}


# ---- POST a service request ------------------------------------------------------------
class Open311Post(BaseModel):
    """The arguments of POST requests as the spec names them; attribute[…] is ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    service_code: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    address_string: str = Field(default="", max_length=300)
    address_id: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=254, pattern=EMAIL_PATTERN)
    device_id: str = Field(default="", max_length=100)
    account_id: str = Field(default="", max_length=100)
    first_name: str = Field(default="", max_length=50)
    last_name: str = Field(default="", max_length=50)
    phone: str = Field(default="", pattern=r"^[0-9+\- ]{0,20}$")
    description: str = Field(default="", max_length=4000)
    media_url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")


def prepare_post(session: Session, params: Mapping[str, str]) -> tuple[Actor, IntakeRequest]:
    """Authorise and check a POST: the client's actor and the report to submit.

    Raises:
        Open311Error: 403 for a missing or unknown api_key, 400 for anything else wrong.
    """
    client = client_for_key(session, params.get("api_key", ""))
    if client is None:
        raise Open311Error(403, "api_key was not provided or is invalid")
    try:
        post = Open311Post.model_validate({k: v for k, v in params.items() if v != ""})
    except ValidationError as err:
        raise Open311Error(400, validation_message(err)) from None
    category = session.get(Category, post.service_code)
    if category is None:
        raise Open311Error(400, f"service_code {post.service_code!r} is not a known service")
    if post.lat is None or post.long is None:
        raise Open311Error(
            400,
            "lat and long are required: this endpoint cannot locate address_string or "
            "address_id alone",
        )
    actor = Actor(username=f"open311:{client.name}", name=client.name, role=Role.PUBLIC, unit_id="")
    return actor, _intake_request(post, category)


def _intake_request(post: Open311Post, category: Category) -> IntakeRequest:
    summary = " ".join(post.description.split())[:30]
    description = post.description + (f"{MEDIA}{post.media_url}" if post.media_url else "")
    try:
        return IntakeRequest(
            channel="open311",
            duplicates="auto",
            category=category.key,
            title=summary if len(summary) >= 2 else category.name,
            description=description,
            lat=post.lat,
            lon=post.long,
            address=post.address_string,
            reporter_name=f"{post.first_name} {post.last_name}".strip(),
            reporter_phone=post.phone,
            reporter_email=post.email,
            publish=True,  # a client posts to a public feed: the spec's requests are public
        )
    except ValidationError as err:
        raise Open311Error(400, validation_message(err)) from None


def pending_answer(pending: IntakePending) -> dict[str, Any]:
    """POST's answer when the case started but routing has not answered yet (202)."""
    return {
        "service_request_id": pending.ticket,
        "token": pending.tracking_token,
        "service_notice": "已受理，正在派单 / received, being routed",
        "account_id": None,
    }


def post_answer(result: IntakeResult) -> dict[str, Any]:
    """The spec's answer to POST, plus the token that tracks the request."""
    case = result.case.ticket
    if result.merged:
        notice = f"已并入工单 {case} 合并处理 / merged into the open case {case} on the same event"
    else:
        unit = result.case.assigned_unit
        notice = f"已受理，派往{unit.name} / received, dispatched" if unit else "已受理 / received"
    return {
        "service_request_id": result.ticket,
        "token": result.tracking_token,
        "service_notice": notice,
        "account_id": None,
    }


def validation_message(err: ValidationError) -> str:
    return describe_errors(err.errors())


def describe_errors(errors: Sequence[Any]) -> str:
    """One part per wrong field: `phone: String should match pattern …`."""
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e['msg']}" if where else e["msg"])
    return "; ".join(parts)


# ---- GET service requests --------------------------------------------------------------
class CaseRow(Protocol):
    """What a request is shown from: a read-model row or a live snapshot (same names)."""

    @property
    def ticket(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def category_name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def request_kind(self) -> str: ...
    @property
    def assigned_unit_name(self) -> str: ...
    @property
    def district_id(self) -> str: ...
    @property
    def street_id(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


@dataclass
class RequestQuery:
    """The filters of GET requests, checked: ids override everything else."""

    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    statuses: set[str] = field(default_factory=set)  # {"open"}, {"closed"} or empty: both


def parse_query(
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
    now: datetime,
) -> RequestQuery:
    """Check the filters; dates default to the 90 days before `now`."""
    ids = _csv(service_request_id)
    if ids:
        if len(ids) > MAX_RESULTS:
            raise Open311Error(400, f"at most {MAX_RESULTS} service_request_id values at once")
        return RequestQuery(ids=list(dict.fromkeys(ids)))
    statuses = set(_csv(status))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed (or both, comma separated)")
    start = parse_w3c("start_date", start_date) if start_date else None
    end = parse_w3c("end_date", end_date, end_of_day=True) if end_date else None
    if start is None:
        start = (end or now) - WINDOW
    if end is None:
        end = start + WINDOW if start_date else now
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return RequestQuery(service_codes=_csv(service_code), start=start, end=end, statuses=statuses)


def parse_w3c(name: str, value: str, *, end_of_day: bool = False) -> datetime:
    """A W3C date-time (2026-11-29T14:30:00+08:00 or …Z), or a date in China time.

    A '+' of an offset that reached us unencoded in a query string arrives as a space.
    """
    text = value.strip().replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or ("T" in text and parsed.tzinfo is None):
        raise Open311Error(
            400, f"{name} must be a W3C date-time with a timezone, e.g. 2026-11-29T14:30:00+08:00"
        )
    if "T" not in text:  # a whole day
        day = datetime.combine(parsed.date(), time(), tzinfo=CST)
        return day + timedelta(days=1, microseconds=-1) if end_of_day else day
    return parsed


def find_requests(session: Session, query: RequestQuery) -> list[dict[str, Any]]:
    """The requests `query` asks for: newest first, or in the order of the ids given."""
    cases = select(CaseRecord)
    linked = (
        select(LinkedReportRecord, CaseRecord)
        .join(CaseRecord, col(CaseRecord.id) == col(LinkedReportRecord.case_id))
        .where(col(LinkedReportRecord.split_at).is_(None))  # a split report is a case itself
    )
    if query.ids:
        cases = cases.where(col(CaseRecord.ticket).in_(query.ids))
        linked = linked.where(col(LinkedReportRecord.ticket).in_(query.ids))
    else:
        cases = cases.where(col(CaseRecord.created_at).between(query.start, query.end))
        linked = linked.where(col(LinkedReportRecord.linked_at).between(query.start, query.end))
        if query.service_codes:
            cases = cases.where(col(CaseRecord.category).in_(query.service_codes))
            linked = linked.where(col(CaseRecord.category).in_(query.service_codes))
        if len(query.statuses) == 1:
            closed = [s.value for s in CLOSED]
            cond = col(CaseRecord.status).in_(closed)
            if "open" in query.statuses:
                cond = col(CaseRecord.status).not_in(closed)
            cases, linked = cases.where(cond), linked.where(cond)
    newest = col(CaseRecord.created_at).desc()
    rows: list[tuple[datetime, CaseRow, LinkedReportRecord | None]] = [
        (c.created_at, c, None) for c in session.exec(cases.order_by(newest).limit(MAX_RESULTS))
    ]
    linked_rows = session.exec(
        linked.order_by(col(LinkedReportRecord.linked_at).desc()).limit(MAX_RESULTS)
    )
    rows += [(r.linked_at, c, r) for r, c in linked_rows]
    if not query.ids:
        rows.sort(key=lambda row: row[0], reverse=True)
        rows = rows[:MAX_RESULTS]
    publics = Publication.of(session, [(c, r) for _, c, r in rows])
    found = [request_dict(c, r, publics) for _, c, r in rows]
    if query.ids:
        order = {ticket: i for i, ticket in enumerate(query.ids)}
        found.sort(key=lambda d: order[d["service_request_id"]])
    return found


@dataclass
class Publication:
    """What the public may know around a page of requests: which reports their reporters
    agreed to publish, and the names of the districts and streets they lie in."""

    published: set[str] = field(default_factory=set)
    units: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, session: Session, rows: Sequence[tuple[CaseRow, LinkedReportRecord | None]]
    ) -> Publication:
        tickets = [(r or c).ticket for c, r in rows]
        ids = {u for c, _ in rows for u in (c.district_id, c.street_id) if u}
        names = select(Unit.id, Unit.name).where(col(Unit.id).in_(ids))
        units = dict(session.exec(names).all()) if ids else {}
        return cls(consent.published(session, tickets), units)

    def area(self, case: CaseRow) -> str | None:
        """The neutral place of a request: its district and street, no closer."""
        names = [self.units.get(u, "") for u in (case.district_id, case.street_id) if u]
        return "".join(names) or None


async def service_request(
    sessions: SessionFactory, cases: CaseService, ticket: str
) -> dict[str, Any]:
    """One request by its ticket; a case not yet in the read model is asked live."""
    with session_scope(sessions) as session:
        found = find_requests(session, RequestQuery(ids=[ticket]))
    if found:
        return found[0]
    try:
        state = await cases.live_state(ticket)
    except CaseError as err:
        if err.status != 404:
            raise
        raise Open311Error(404, f"service_request_id {ticket!r} not found") from None
    snapshot = state.snapshot()
    with session_scope(sessions) as session:
        publics = Publication.of(session, [(snapshot, None)])
    return request_dict(snapshot, None, publics)


def ticket_for_token(session: Session, token: str) -> str | None:
    """The service_request_id a tracking token belongs to."""
    if not token:
        return None
    case = select(CaseRecord.ticket).where(CaseRecord.tracking_token == token)
    found = session.exec(case).first()
    if found is None:
        linked = select(LinkedReportRecord.ticket).where(LinkedReportRecord.tracking_token == token)
        found = session.exec(linked).first()
    return found


def request_dict(
    case: CaseRow, linked: LinkedReportRecord | None, publics: Publication
) -> dict[str, Any]:
    """A service request in the spec's fields; a linked report shows its case's progress.

    Never the reporter; the report's own text, address and point only as `public_text` allows.
    """
    status = Status(case.status)
    closed = status in CLOSED
    notes = f"{STATUS_NAMES.get(status, status.value)} ({status.value})"
    if linked is not None:
        notes = f"已并入工单 {case.ticket}：{notes} / merged into case {case.ticket}"
    text = public_text(case, linked, publics)
    return {
        "service_request_id": linked.ticket if linked else case.ticket,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": case.category_name,
        "service_code": case.category,
        "description": text["description"],
        "agency_responsible": case.assigned_unit_name or None,
        "service_notice": None,
        "requested_datetime": w3c(linked.linked_at if linked else case.created_at),
        "updated_datetime": w3c((case.closed_at if closed else None) or case.updated_at),
        "expected_datetime": None if closed else w3c(case.due_at),
        "address": text["address"],
        "address_id": None,
        "zipcode": None,
        "lat": text["lat"],
        "long": text["long"],
        "media_url": text["media_url"],
    }


def public_text(
    case: CaseRow, linked: LinkedReportRecord | None, publics: Publication
) -> dict[str, Any]:
    """The report's description, address, point and media as the public may see them:
    scrubbed when its reporter agreed, else the neutral summary (its street, no closer)."""
    report: Any = linked or case
    table = "linked_reports" if linked else "cases"
    subject = Subject("report", report.ticket, published=report.ticket in publics.published)
    description, media_url = _split_media(report.description)
    if shown(None, f"{table}.description", subject) is Shown.WITHHELD:
        description, media_url = NOT_PUBLISHED, None
    elif report.request_kind in PRIVATE_KINDS:
        description, media_url = TIP_OFF, None  # a tip-off can name the people it is about
    else:
        description = mask(f"{table}.description", description)
    placed = shown(None, f"{table}.lat", subject) is Shown.WHOLE
    address = mask(f"{table}.address", report.address) if placed else ""
    return {
        "description": description,
        "address": address or publics.area(case),
        "lat": report.lat if placed else None,
        "long": report.lon if placed else None,
        "media_url": media_url,
    }


def w3c(at: datetime | None) -> str | None:
    """China time with its offset: 2026-11-29T14:30:00+08:00."""
    return at.astimezone(CST).isoformat(timespec="seconds") if at else None


def _split_media(description: str) -> tuple[str, str | None]:
    head, sep, url = description.rpartition(MEDIA)
    if sep and url and "\n" not in url:
        return head, url
    return description, None


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
