"""处置力量和装备目录: browse and edit teams, people and equipment, and the case page's panel of
the teams and equipment allocated to a case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from core.access import may_edit_directory as may_edit
from core.bounds import RowId
from core.cases.service import CaseError, CaseService
from core.directory.service import DirectoryService
from core.models import User
from core.privacy import masking as privacy
from web import formdata, labels
from web.deps import Cases, WebUser, check_csrf
from web.directory.forms import KINDS, request_data, row_id
from web.layout import error_page, layout_context
from web.templating import error_status, redirect, render, wants_fragment

router = APIRouter(dependencies=[Depends(check_csrf)])
Kind = Literal["teams", "people", "equipment"]
FIELD_LABELS = {
    **labels.FIELD_LABELS,
    "unit_id": "所属单位",
    "unit": "单位",
    "name": "名称",
    "specialty": "专业",
    "leader": "负责人",
    "phone": "联系电话",
    "team_id": "队伍",
    "role": "职务",
    "type": "类型",
    "serial": "号牌/编号",
    "status": "状态",
    "note": "备注",
    "equipment_id": "装备",
    "reason": "原因",
}


# ---- the directory page ----------------------------------------------------------------------
@router.get("/directory")
def directory_page(
    request: Request,
    user: WebUser,
    cases: Cases,
    unit: str = "",
    edit: Kind | None = None,
    item: Annotated[RowId | None, Query(alias="id")] = None,
) -> Response:
    """Teams with their people, and equipment with its status; add and edit forms."""
    try:
        values = _current_values(cases, user, edit, item) if edit and item else {}
        context = _page_context(cases, user, unit, form=edit or "", edit_id=item, values=values)
    except CaseError as err:
        return error_page(request, cases, user, err)
    return render(request, "directory/page.html", context, block="directory")


@router.post("/directory/{kind}")
async def create(request: Request, kind: Kind, user: WebUser, cases: Cases) -> Response:
    """Add a team, a person or a piece of equipment."""
    return _save(request, cases, user, kind, None, await request.form())


@router.post("/directory/{kind}/{item_id}")
async def update(
    request: Request, kind: Kind, item_id: RowId, user: WebUser, cases: Cases
) -> Response:
    """Edit one; the form sends every field."""
    return _save(request, cases, user, kind, item_id, await request.form())


def _save(
    request: Request, cases: CaseService, user: User, kind: str, item_id: int | None, form: FormData
) -> Response:
    """Validate and save; errors go next to their fields with the values kept."""
    spec, unit = KINDS[kind], formdata.text(form, "unit_filter")
    values = {name: formdata.text(form, name) for name in spec.fields}
    directory = DirectoryService(cases, user)
    try:
        data = request_data(values)
        if item_id is None:
            spec.create(directory, user, spec.create_model.model_validate(data))
        else:
            spec.update(directory, user, item_id, spec.update_model.model_validate(data))
    except (ValidationError, CaseError) as err:
        status = err.status if isinstance(err, CaseError) else 422
        errors = field_errors(err)
        context = _page_context(
            cases, user, unit, form=kind, edit_id=item_id, values=values, errors=errors
        )
        return render(
            request,
            "directory/page.html",
            context,
            block="directory",
            status=error_status(request, status),
        )
    if not wants_fragment(request):
        return redirect(request, f"/directory?unit={unit}" if unit else "/directory")
    saved = f"已保存{spec.label}：{values['name']}"
    context = _page_context(cases, user, unit, saved=saved)
    return render(request, "directory/page.html", context, block="directory")


def _current_values(cases: CaseService, user: User, kind: str, item_id: int) -> dict[str, str]:
    """The edit form's values: the row as it is."""
    row = KINDS[kind].get(DirectoryService(cases, user), item_id)
    unit_id = str(getattr(row, "unit_id", ""))
    if not may_edit(user, unit_id):
        raise CaseError(
            403,
            f"unit {user.unit_id} may not edit the directory of unit {unit_id}",
            code="directory_other_unit",
        )
    values = row.model_dump()
    return {
        name: ("true" if values[name] else "")
        if isinstance(values[name], bool)
        else ("" if values[name] is None else str(values[name]))
        for name in KINDS[kind].fields
    }


def _page_context(
    cases: CaseService,
    user: User,
    unit: str,
    *,
    form: str = "",
    edit_id: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
) -> dict[str, Any]:
    directory = DirectoryService(cases, user)
    owner_units = directory.owner_units(user)
    errors = errors or {}
    return {
        **layout_context(cases, user),
        "unit": unit,
        "units": directory.filter_units(),
        "teams": privacy.teams_for(user, cases.sessions, directory.list_teams(unit)),
        "loose_people": privacy.people_for(
            user, cases.sessions, directory.list_people(unit, unassigned=True)
        ),
        "equipment": directory.list_equipment(unit),
        "owner_units": owner_units,
        "team_options": [
            (t.id, f"{t.unit_name} · {t.name}")
            for t in directory.list_teams()
            if may_edit(user, t.unit_id)
        ],
        "is_admin": user.role == "admin",
        "form": form,
        "edit_id": edit_id,
        "values": values or {},
        "errors": errors,
        "summary": error_summary(errors),
        "saved": saved,
    }


# ---- the case page's panel -----------------------------------------------------------------
@router.get("/cases/{ticket}/resources")
def case_resources(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """The teams and equipment allocated to a case (a block of the case page, or a page)."""
    return _panel(request, cases, user, ticket)


@router.post("/cases/{ticket}/resources")
async def allocate(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """Allocate a team and/or equipment; a refusal is shown in the panel, choices kept."""
    form = await request.form()
    values = {name: formdata.text(form, name) for name in ("team_id", "equipment_id", "reason")}
    try:
        await DirectoryService(cases, user).allocate(
            user,
            ticket,
            team_id=row_id(values["team_id"], "team_id", "team"),
            equipment_id=row_id(values["equipment_id"], "equipment_id", "equipment"),
            reason=values["reason"],
        )
    except CaseError as err:
        error = f"调派未完成：{error_summary(field_errors(err))}"
        return _panel(request, cases, user, ticket, error=error, values=values, status=err.status)
    return _after_change(request, cases, user, ticket, "已调派")


@router.post("/cases/{ticket}/resources/{allocation_id}/release")
async def release(
    request: Request, ticket: str, allocation_id: RowId, user: WebUser, cases: Cases
) -> Response:
    """Release one allocation early, with a reason."""
    reason = formdata.text(await request.form(), "reason")
    try:
        await DirectoryService(cases, user).release(user, allocation_id, reason=reason)
    except CaseError as err:
        error = f"释放未完成：{error_summary(field_errors(err))}"
        return _panel(request, cases, user, ticket, error=error, status=err.status)
    return _after_change(request, cases, user, ticket, "已释放")


def _after_change(
    request: Request, cases: CaseService, user: User, ticket: str, saved: str
) -> Response:
    if not wants_fragment(request):
        return redirect(request, f"/cases/{ticket}/resources")
    return _panel(request, cases, user, ticket, saved=saved)


def _panel(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    *,
    error: str = "",
    saved: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        panel = DirectoryService(cases, user).case_panel(ticket)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context = {
        **layout_context(cases, user),
        "panel": panel,
        "error": error,
        "saved": saved,
        "values": values or {},
    }
    return render(
        request,
        "directory/resources.html",
        context,
        block="resources",
        status=error_status(request, status) if error else status,
    )


# ---- errors --------------------------------------------------------------------------------
field_errors = labels.field_errors


def error_summary(errors: dict[str, str]) -> str:
    return "；".join(
        f"{FIELD_LABELS.get(name, name)}：{message}" if name else message
        for name, message in errors.items()
    )
