"""The one access policy: who may see, act on and target what (articles 8 and 20).

Every read, list, file download and target check in the API and the web UI asks this module.
The policy is the table `POLICY` below (docs/access.md has it with the reasoning): for each role,
the *reaches* that open a case to a user. A reach is a relation between the user and the case —
the case lies in the user's unit's area, the user's unit holds it, a whistle summoned the unit to
it, the user recorded it. Each reach has two readings kept side by side, a Python predicate for
one case (`_HOLDS`) and an SQL clause for lists (`_CLAUSES`), so lists filter in the database and
a single case is judged the same way; tests/core/test_access.py checks that they agree.

Actions stay with the workflows' validators (role x unit x the case's place and holder,
workflows/case/transitions.py and whistle_rules.py); what they cannot know — which units exist and
where they sit — is checked here: where a dispatch, a reassignment or a whistle may send a case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import CaseError
from core.models import (
    Allocation,
    Attachment,
    BulkJob,
    CaseAttachment,
    CaseRecord,
    InboxItem,
    LinkedReportRecord,
    Unit,
    WhistleRecord,
)
from workflows.contracts import CaseState, Role

__all__ = [
    "POLICY",
    "CaseScope",
    "FileGrant",
    "Principal",
    "Reach",
    "allocation_clause",
    "case_clause",
    "check_target",
    "file_grant",
    "inbox_clause",
    "may_allocate",
    "may_edit_directory",
    "may_reset",
    "may_see_bulk",
    "may_see_case",
    "may_see_exact_location",
    "may_see_inbox_item",
    "may_see_personal",
    "may_see_unit",
    "require_unit",
    "scope_of_record",
    "scope_of_state",
    "taken_clause",
    "visible_case",
    "whistle_clause",
]


class Principal(Protocol):
    """Who asks: a logged-in user (`core.models.User`) or the actor of a command."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def unit_id(self) -> str: ...


class Reach(StrEnum):
    """How a case can be within a user's reach."""

    AREA = "area"  # the case lies in the user's unit's area (its location path holds the unit)
    HOLDER = "holder"  # the case is assigned to the user's unit
    BELOW = "below"  # the case is held by a unit under the user's unit (its supervising line)
    SUMMONED = "summoned"  # a whistle summoned the user's unit (a department) to the case
    BLOWER = "blower"  # the user's unit blew a whistle on the case
    TAKEN = "taken"  # the user recorded the case, or a report merged into it


@dataclass(frozen=True)
class Row:
    """One role's line of the table: which reaches open what."""

    see: frozenset[Reach]  # the case whole: state, timeline, files, allocations, whistles
    personal: frozenset[Reach]  # reporters' names and phones unmasked (TAKEN: that report's)
    exact: frozenset[Reach]  # where exactly: address, map point, a photo's GPS


EVERY = frozenset(Reach)
ON_SITE = frozenset({Reach.AREA, Reach.HOLDER, Reach.SUMMONED, Reach.TAKEN})
TAKER = frozenset({Reach.TAKEN})
AREA_OR_TAKER = frozenset({Reach.AREA, Reach.TAKEN})
NOTHING: frozenset[Reach] = frozenset()
STAFF = Row(see=EVERY, personal=TAKER, exact=ON_SITE)

# THE TABLE. What each reach opens depends on where the user's unit sits in the tree: AREA gives
# the city everything, a district its district, a street its street, a grid its grid and a
# department nothing (departments have no area); HOLDER and BELOW give a unit what it and the
# units under it hold; SUMMONED and BLOWER the cases of its whistles; TAKEN what the user recorded.
POLICY: Mapping[Role, Row] = {
    Role.OPERATOR: STAFF,  # the 12345 centre's area (the city): callbacks, callers asking
    Role.DISPATCHER: STAFF,
    Role.HANDLER: STAFF,
    Role.VERIFIER: STAFF,
    Role.SUPERVISOR: Row(see=EVERY, personal=AREA_OR_TAKER, exact=ON_SITE),
    Role.GRID_WORKER: STAFF,
    # Keeps accounts, keys and the directory; works no case, so reads none (least privilege).
    Role.ADMIN: Row(see=NOTHING, personal=NOTHING, exact=NOTHING),
    Role.DEVICE: Row(see=NOTHING, personal=NOTHING, exact=NOTHING),
    # A citizen reads their own report by ticket and tracking token on the public pages
    # (web/public/tracking.py) and Open311, never through the staff API.
    Role.PUBLIC: Row(see=NOTHING, personal=NOTHING, exact=NOTHING),
}
# Names of the system's own actors, which are never a staff user's `taken_by`.
SYSTEM_NAMES = frozenset({"", "public", "system"})


def _row(p: Principal) -> Row:
    try:
        return POLICY[Role(p.role)]
    except ValueError:
        return POLICY[Role.PUBLIC]  # an unknown role reads nothing


def is_staff(p: Principal) -> bool:
    """Whether the user works cases at all (reads some; admins and machines read none)."""
    return bool(_row(p).see)


# ---- one case ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseScope:
    """What the policy needs of a case: where it is, who holds it, who took part."""

    area: tuple[str, ...]  # the location's unit ids, city first
    holder: str = ""
    holder_line: tuple[str, ...] = ()  # the holder and every unit above it
    summoned: frozenset[str] = frozenset()
    blowers: frozenset[str] = frozenset()
    takers: frozenset[str] = frozenset()


def scope_of_state(state: CaseState) -> CaseScope:
    """The scope of a live case (its workflow's state: never behind the read model)."""
    holder = state.assigned_unit.id if state.assigned_unit else ""
    rounds = [r for r in state.whistles if r.summoned_at is not None]  # pending: no one summoned
    linked = [lr.report.reporter.username for lr in state.linked_reports if lr.split_at is None]
    return CaseScope(
        area=tuple(state.location.path),
        holder=holder,
        holder_line=(holder, *(u.id for u in state.escalation_chain)) if holder else (),
        summoned=frozenset(m.unit.id for r in rounds for m in r.members),
        blowers=frozenset(r.blower_unit.id for r in rounds),
        takers=frozenset({state.taken_by, *linked}),
    )


def scope_of_record(session: Session, case: CaseRecord) -> CaseScope:
    """The scope of a case as the read model has it."""
    holder = session.get(Unit, case.assigned_unit_id) if case.assigned_unit_id else None
    whistles = session.exec(
        select(WhistleRecord.dept_id, WhistleRecord.blower_unit_id).where(
            WhistleRecord.case_id == case.id
        )
    ).all()
    linked = session.exec(
        select(LinkedReportRecord.taken_by).where(
            LinkedReportRecord.case_id == case.id, col(LinkedReportRecord.split_at).is_(None)
        )
    ).all()
    return CaseScope(
        area=_ids(case.location_path),
        holder=case.assigned_unit_id,
        holder_line=_ids(holder.path) if holder else (),
        summoned=frozenset(dept for dept, _ in whistles),
        blowers=frozenset(blower for _, blower in whistles),
        takers=frozenset({case.taken_by, *linked}),
    )


def _area(case: CaseRecord | CaseState) -> tuple[str, ...]:
    if isinstance(case, CaseRecord):
        return _ids(case.location_path)
    return tuple(case.location.path)


def _ids(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split("/") if p)


def _applies(reach: Reach, p: Principal) -> bool:
    """A reach through a unit needs a unit; through a name, a person's name."""
    if reach is Reach.TAKEN:
        return p.username not in SYSTEM_NAMES
    return bool(p.unit_id)


def _reaches(p: Principal, reaches: frozenset[Reach]) -> list[Reach]:
    return [r for r in sorted(reaches) if _applies(r, p)]


# Each reach read for one case...
_HOLDS: dict[Reach, Callable[[Principal, CaseScope], bool]] = {
    Reach.AREA: lambda p, c: p.unit_id in c.area,
    Reach.HOLDER: lambda p, c: p.unit_id == c.holder,
    Reach.BELOW: lambda p, c: p.unit_id in c.holder_line,
    Reach.SUMMONED: lambda p, c: p.unit_id in c.summoned,
    Reach.BLOWER: lambda p, c: p.unit_id in c.blowers,
    Reach.TAKEN: lambda p, c: p.username in c.takers,
}


def _holds(p: Principal, case: CaseScope | CaseState, reaches: frozenset[Reach]) -> bool:
    scope = scope_of_state(case) if isinstance(case, CaseState) else case
    return any(_HOLDS[r](p, scope) for r in _reaches(p, reaches))


def may_see_case(p: Principal, case: CaseScope | CaseState) -> bool:
    """Whether `p` may see the case whole: its state, timeline, files, allocations, whistles."""
    return _holds(p, case, _row(p).see)


def visible_case(session: Session, p: Principal, ticket: str) -> CaseRecord | None:
    """The read model's case `ticket` if `p` may see it, else None (as for none at all).

    One case is judged in Python on its scope (a handful of lookups by key): an `OR` of the
    list clause's arms, narrowed to one ticket, tempts planners into reading every arm.
    """
    case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
    if case is None or not may_see_case(p, scope_of_record(session, case)):
        return None
    return case


def may_see_exact_location(p: Principal, case: CaseScope | CaseState) -> bool:
    """Whether `p` may see where exactly the case is: the address to the door, the map point,
    the GPS in its photos. Those who work it on the ground or over its area, and its taker."""
    return _holds(p, case, _row(p).exact)


def may_see_personal(
    p: Principal, case: CaseRecord | CaseState, *, taken_by: str | None = None
) -> bool:
    """Whether `p` may see a reporter unmasked: the user who took that report (`taken_by`, by
    default the case's own), and supervisors whose unit's area contains the case."""
    taker = case.taken_by if taken_by is None else taken_by
    scope = CaseScope(area=_area(case), takers=frozenset({taker}))
    return _holds(p, scope, _row(p).personal)


def covers(p: Principal, path: str) -> bool:
    """The area reach for any record with a path (a case's location, a unit's, a logged
    view's): `path` lies in `p`'s unit's area. Personal data uses it (core/privacy/masking.py)."""
    return bool(p.unit_id) and _HOLDS[Reach.AREA](p, CaseScope(area=_ids(path)))


def covers_clause(p: Principal, path_column: Any) -> ColumnElement[bool]:
    """`covers` as SQL over a column of paths."""
    if not p.unit_id:
        return false()
    return col(path_column).contains(f"/{p.unit_id}/", autoescape=True)


# ---- lists: the same table as SQL ----------------------------------------------------------
def _in_area(session: Session, unit_id: str) -> ColumnElement[bool]:
    """The case's location path starts with the unit's path: a range on the indexed column
    (`/nj/gl/` <= path < `/nj/gl0`, "0" following "/"), which lets the database combine the
    arms' indexes where `LIKE '%/gl/%'` would read every row. The city's area is every case
    (one city per deployment): no clause at all, so its lists read as they did without one."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return false()
    if unit.level == "city":
        return true()
    location = col(CaseRecord.location_path)
    return and_(location >= unit.path, location < unit.path[:-1] + "0")


def _below(unit: str) -> ColumnElement[bool]:
    inside = select(Unit.id).where(col(Unit.path).contains(f"/{unit}/", autoescape=True))
    return col(CaseRecord.assigned_unit_id).in_(inside)


def _summoned(unit: str) -> ColumnElement[bool]:
    cases = select(WhistleRecord.case_id).where(WhistleRecord.dept_id == unit)
    return col(CaseRecord.id).in_(cases)


def _blown(unit: str) -> ColumnElement[bool]:
    cases = select(WhistleRecord.case_id).where(WhistleRecord.blower_unit_id == unit)
    return col(CaseRecord.id).in_(cases)


def _taken(name: str) -> ColumnElement[bool]:
    linked = select(LinkedReportRecord.case_id).where(
        LinkedReportRecord.taken_by == name, col(LinkedReportRecord.split_at).is_(None)
    )
    return or_(col(CaseRecord.taken_by) == name, col(CaseRecord.id).in_(linked))


# ...and for a list (a `where` on `cases`; the session finds the user's unit).
_CLAUSES: dict[Reach, Callable[[Session, Principal], ColumnElement[bool]]] = {
    Reach.AREA: lambda s, p: _in_area(s, p.unit_id),
    Reach.HOLDER: lambda s, p: col(CaseRecord.assigned_unit_id) == p.unit_id,
    Reach.BELOW: lambda s, p: _below(p.unit_id),
    Reach.SUMMONED: lambda s, p: _summoned(p.unit_id),
    Reach.BLOWER: lambda s, p: _blown(p.unit_id),
    Reach.TAKEN: lambda s, p: _taken(p.username),
}


def _clause(session: Session, p: Principal, reaches: frozenset[Reach]) -> ColumnElement[bool]:
    parts = [_CLAUSES[r](session, p) for r in _reaches(p, reaches)]
    return or_(*parts) if parts else false()


def taken_clause(p: Principal) -> ColumnElement[bool]:
    """`where` for `cases`: what `p` recorded, or a report of theirs merged into (their
    queues' 我受理的 and 我的上报; the see-clause still applies)."""
    return _taken(p.username) if _applies(Reach.TAKEN, p) else false()


def case_clause(session: Session, p: Principal) -> ColumnElement[bool]:
    """`where` for `cases`: the rows `p` may see."""
    return _clause(session, p, _row(p).see)


def exact_clause(session: Session, p: Principal) -> ColumnElement[bool]:
    """`where` for `cases`: the rows whose exact location `p` may see."""
    return _clause(session, p, _row(p).exact)


def _visible_ids(session: Session, p: Principal) -> SelectOfScalar[str]:
    return select(CaseRecord.id).where(case_clause(session, p))


def whistle_clause(session: Session, p: Principal) -> ColumnElement[bool]:
    """`where` for `whistles`: a whistle is seen with its case."""
    return col(WhistleRecord.case_id).in_(_visible_ids(session, p))


def allocation_clause(session: Session, p: Principal) -> ColumnElement[bool]:
    """`where` for `allocations`: an allocation is seen with its case."""
    return col(Allocation.case_id).in_(_visible_ids(session, p))


def inbox_clause(p: Principal) -> ColumnElement[bool]:
    """`where` for `inbox_items`: a message is for the staff of the unit it is addressed to."""
    if not (is_staff(p) and p.unit_id):
        return false()
    return and_(col(InboxItem.unit_id) == p.unit_id)


def may_see_inbox_item(p: Principal, item: InboxItem) -> bool:
    return is_staff(p) and bool(p.unit_id) and item.unit_id == p.unit_id


# ---- files ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileGrant:
    """May serve a stored file; with its GPS only to who may see the exact location."""

    exact_location: bool


def file_grant(session: Session, p: Principal, sha: str) -> FileGrant | None:
    """A file is served to who may see a case holding it, and to its uploader until it is
    attached to a case (a report being written); None: answer as if it did not exist."""
    holders = select(CaseAttachment.case_id).where(CaseAttachment.sha256 == sha)
    in_cases = select(CaseRecord.id).where(col(CaseRecord.id).in_(holders))
    if session.exec(in_cases.where(case_clause(session, p)).limit(1)).first() is not None:
        exact = in_cases.where(exact_clause(session, p)).limit(1)
        return FileGrant(exact_location=session.exec(exact).first() is not None)
    row = session.get(Attachment, sha)
    attached = session.exec(holders.limit(1)).first() is not None
    uploader = p.username not in SYSTEM_NAMES and row is not None and row.uploaded_by == p.username
    if uploader and not attached:
        return FileGrant(exact_location=True)  # their own photo, their own whereabouts
    return None


# ---- units, bulk jobs, the directory ---------------------------------------------------------
def may_see_unit(p: Principal, unit: Unit) -> bool:
    """A unit's boards and statistics: the user's own unit and the units under it."""
    return bool(p.unit_id) and f"/{p.unit_id}/" in unit.path


def require_unit(session: Session, p: Principal, unit_id: str, field: str = "unit") -> Unit:
    row = session.get(Unit, unit_id)
    if row is None:
        raise CaseError(422, f"unknown unit {unit_id!r}", field, code="unknown_unit")
    if not may_see_unit(p, row):
        raise CaseError(
            403,
            f"unit {p.unit_id} may not see the boards of unit {unit_id}",
            field,
            code="unit_hidden",
        )
    return row


def may_see_bulk(p: Principal, job: BulkJob, creator_unit_path: str) -> bool:
    """A bulk override's progress: its creator, and supervisors over the creator's unit."""
    if p.username == job.created_by:
        return True
    return p.role == Role.SUPERVISOR and bool(p.unit_id) and f"/{p.unit_id}/" in creator_unit_path


# Who keeps a unit's directory: its dispatchers and supervisors (the centre's) and its handlers
# (a department's or street's own staff); everyone else reads it.
DIRECTORY_EDITORS = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER})
ALLOCATORS_BY_AREA = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


def may_edit_directory(p: Principal, unit_id: str) -> bool:
    """An admin edits every unit's directory; an editor role its own unit's."""
    return p.role == Role.ADMIN or (p.role in DIRECTORY_EDITORS and p.unit_id == unit_id)


def may_reset(p: Principal, case: CaseScope | CaseState) -> bool:
    """A reset (back to an earlier decision point) is for supervisors over the case's area."""
    scope = scope_of_state(case) if isinstance(case, CaseState) else case
    return p.role == Role.SUPERVISOR and _HOLDS[Reach.AREA](p, scope)


def may_allocate(p: Principal, case: CaseRecord) -> bool:
    """Teams and equipment go to a case by the centre over its area or a handler holding it."""
    if p.role in ALLOCATORS_BY_AREA:
        return bool(p.unit_id) and f"/{p.unit_id}/" in case.location_path
    return p.role == Role.HANDLER and case.assigned_unit_id == p.unit_id


# ---- targets -------------------------------------------------------------------------------
TARGET_GOVERNMENTS = ("district", "city")


def reach_path(session: Session, p: Principal) -> str | None:
    """The part of the tree the user's unit may send a case to: the government it belongs to
    (its district, or the city for the city's own units); None for a unit not in the tree."""
    unit = session.get(Unit, p.unit_id) if p.unit_id else None
    if unit is None:
        return None
    ids = _ids(unit.path)
    rows = {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(ids)))}
    for uid in reversed(ids):  # nearest first
        row = rows.get(uid)
        if row is not None and row.level in TARGET_GOVERNMENTS:
            return row.path
    return None


def check_target(session: Session, p: Principal, target: Unit, field: str) -> None:
    """Dispatch, reassignment and whistle summons stay within the sender's district and its
    departments; the city sends anywhere. Refused (403, naming `field`) before any Update."""
    reach = reach_path(session, p)
    if reach is None or not target.path.startswith(reach):
        raise CaseError(
            403,
            f"unit {target.id} is outside the district of unit {p.unit_id}: "
            "a district sends cases within its district and to its own departments",
            field,
            code="target_outside_district",
        )
