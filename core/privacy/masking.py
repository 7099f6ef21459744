"""How a stored field is shown to a viewer (article 20): whole, masked or withheld, as its class
in `core/privacy/classification.py` says; and the unmasked views of personal information, logged
(article 21).

`shown` is the one decision. Reporters are whole to the operator who took the report and to
supervisors of the case's own area, masked to other staff, never public. Staff phones are
whole to their unit's own users, supervisors of the area and admins (who keep the directory),
masked to other staff. Tracking tokens are never shown to staff. The public sees a report's
text only when its reporter agreed, and then scrubbed (`core/privacy/scrub.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from core import access
from core.db import SessionFactory, session_scope
from core.models import PersonalDataView, Unit, User
from core.privacy import classification, scrub
from core.privacy.classification import Rule
from workflows.contracts import Role
from workflows.shared.privacy import mask_name, mask_phone

if TYPE_CHECKING:  # the directory's answer types, for annotations only
    from core.directory.service import PersonOut, TeamOut

__all__ = ["ROUTE", "Shown", "Subject", "View", "mask_name", "mask_phone", "shown"]

# The request being answered ("GET /api/v1/cases/CL…"), set by the app for the view log.
ROUTE: ContextVar[str] = ContextVar("route", default="")


class Shown(StrEnum):
    WHOLE = "whole"
    MASKED = "masked"  # names and phones masked (张*, 138****1234); text scrubbed
    WITHHELD = "withheld"


@dataclass(frozen=True)
class Subject:
    """The record a field belongs to, as far as the rules need to know it."""

    kind: str  # report (a case's own or a linked one) | person | team | case
    key: str  # the report's ticket, or the row's id
    area_path: str = ""  # the case's location path, or the staff member's unit's path
    taken_by: str = ""  # who recorded the report
    unit_id: str = ""  # the unit a staff contact belongs to
    published: bool = False  # the reporter agreed to publish the report's text


# ---- the decision --------------------------------------------------------------------------
def shown(viewer: User | None, field: str, subject: Subject) -> Shown:
    """How `field` ("cases.reporter_phone") of `subject` is shown to `viewer` (None: public)."""
    rule = classification.of(field).rule
    if viewer is None or viewer.role == Role.PUBLIC:
        return _to_public(rule, subject)
    return _to_staff(viewer, rule, subject)


def _to_public(rule: Rule, subject: Subject) -> Shown:
    if rule is Rule.PUBLIC:
        return Shown.WHOLE
    if subject.published and rule is Rule.TEXT:
        return Shown.MASKED
    if subject.published and rule is Rule.LOCATION:
        return Shown.WHOLE
    return Shown.WITHHELD


def _to_staff(viewer: User, rule: Rule, subject: Subject) -> Shown:
    supervisor = viewer.role == Role.SUPERVISOR and access.covers(viewer, subject.area_path)
    if rule in (Rule.TOKEN, Rule.SECRET):
        return Shown.WITHHELD
    if rule is Rule.AUDIT:
        return Shown.WHOLE if supervisor else Shown.WITHHELD
    if rule is Rule.REPORTER:
        whole = supervisor or (bool(subject.taken_by) and viewer.username == subject.taken_by)
    elif rule is Rule.CONTACT:
        whole = supervisor or viewer.role == Role.ADMIN or viewer.unit_id == subject.unit_id
    else:
        return Shown.WHOLE
    return Shown.WHOLE if whole else Shown.MASKED


def mask(field: str, value: str) -> str:
    """`value` of `field` masked: a phone or a name, else free text scrubbed."""
    if field.endswith("phone"):
        return mask_phone(value)
    if field.endswith("name"):
        return mask_name(value)
    return scrub.published(value)


# ---- one response's worth of fields, and the log of what it showed whole -------------------
@dataclass
class Disclosure:
    subject: Subject
    fields: list[str] = field(default_factory=list)


class View:
    """The fields one response shows one viewer. Personal information that only some staff
    see whole is noted when shown whole, and `record` logs it (who, whose, which, where)."""

    def __init__(self, viewer: User | None, route: str | None = None) -> None:
        self.viewer = viewer
        self.route = ROUTE.get() if route is None else route
        self.disclosed: dict[tuple[str, str], Disclosure] = {}

    def show(self, field: str, value: str, subject: Subject) -> str | None:
        """`value` as the viewer may see it; None when withheld."""
        decision = shown(self.viewer, field, subject)
        if decision is Shown.WITHHELD:
            return None
        if decision is Shown.MASKED:
            return mask(field, value)
        if value and classification.of(field).audited:
            seen = self.disclosed.setdefault((subject.kind, subject.key), Disclosure(subject))
            if field not in seen.fields:
                seen.fields.append(field)
        return value

    def record(self, sessions: SessionFactory) -> int:
        """Log what was shown whole; returns how many records that was."""
        viewer = self.viewer
        if viewer is None or not self.disclosed:
            return 0
        now = datetime.now(UTC)
        with session_scope(sessions) as session:
            session.add_all(
                PersonalDataView(
                    at=now,
                    viewer_username=viewer.username,
                    viewer_role=viewer.role,
                    viewer_unit_id=viewer.unit_id,
                    subject_kind=d.subject.kind,
                    subject_key=d.subject.key[:80],
                    area_path=d.subject.area_path[:400],
                    fields=d.fields,
                    route=self.route[:300],
                )
                for d in self.disclosed.values()
            )
        count = len(self.disclosed)
        self.disclosed = {}
        return count


# ---- reporters and staff contacts --------------------------------------------------------
def reporter(
    view: View,
    *,
    ticket: str,
    case_ticket: str,
    area_path: str,
    taken_by: str,
    name: str,
    phone: str,
) -> dict[str, Any]:
    """A report's reporter as the viewer may see them: {name, phone, masked}."""
    table = "cases" if ticket == case_ticket else "linked_reports"
    subject = Subject("report", ticket, area_path=area_path, taken_by=taken_by)
    shown_name = view.show(f"{table}.reporter_name", name, subject) or ""
    shown_phone = view.show(f"{table}.reporter_phone", phone, subject) or ""
    masked = (shown_name, shown_phone) != (name, phone)
    return {"name": shown_name, "phone": shown_phone, "masked": masked}


def path_of(location_path: Iterable[str]) -> str:
    """A workflow location's unit ids as the read model's path: "/nj/gl/gl-nhl/"."""
    return "/" + "/".join(location_path) + "/"


def unit_paths(sessions: SessionFactory, unit_ids: Iterable[str]) -> dict[str, str]:
    wanted = set(unit_ids)
    if not wanted:
        return {}
    with session_scope(sessions) as session:
        rows = session.exec(select(Unit.id, Unit.path).where(col(Unit.id).in_(wanted)))
        return dict(rows.all())


def teams_for(user: User, sessions: SessionFactory, teams: list[TeamOut]) -> list[TeamOut]:
    """Teams of the directory with phones as `user` may see them; the whole ones logged."""
    view = View(user)
    units = [t.unit_id for t in teams] + [p.unit_id for t in teams for p in t.people]
    shown = teams_shown(view, unit_paths(sessions, units), teams)
    view.record(sessions)
    return shown


def people_for(user: User, sessions: SessionFactory, people: list[PersonOut]) -> list[PersonOut]:
    """People of the directory with phones as `user` may see them; the whole ones logged."""
    view = View(user)
    shown = people_shown(view, unit_paths(sessions, [p.unit_id for p in people]), people)
    view.record(sessions)
    return shown


def people_shown(view: View, paths: dict[str, str], people: list[PersonOut]) -> list[PersonOut]:
    """People of the directory with their phones as the viewer may see them."""
    return [
        p.model_copy(update={"phone": _contact(view, paths, "people", p.id, p.unit_id, p.phone)})
        for p in people
    ]


def teams_shown(view: View, paths: dict[str, str], teams: list[TeamOut]) -> list[TeamOut]:
    """Teams (and their people) with phones as the viewer may see them."""
    return [
        t.model_copy(
            update={
                "phone": _contact(view, paths, "teams", t.id, t.unit_id, t.phone),
                "people": people_shown(view, paths, t.people),
            }
        )
        for t in teams
    ]


def _contact(
    view: View, paths: dict[str, str], table: str, key: int, unit_id: str, phone: str
) -> str:
    kind = "team" if table == "teams" else "person"
    subject = Subject(kind, str(key), area_path=paths.get(unit_id, ""), unit_id=unit_id)
    return view.show(f"{table}.phone", phone, subject) or ""
