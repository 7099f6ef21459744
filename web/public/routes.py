"""Public pages, no login: the citizen's report with photos, and tracking it (articles 14, 20).

A citizen reports an event at a map point, with photos or videos, and gets back a ticket and a
tracking link. The link carries the report's tracking token: tickets are sequential, so the
token is what keeps a stranger from reading someone else's report. Tracking shows the closed
loop's steps and the result, never staff names, internal notes or personal information.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from core.attachments import store as attachments
from core.attachments import uploads
from core.cases import codes
from core.cases.service import CaseError, CaseService, CitizenRating
from core.config import Settings
from core.db import session_scope
from core.errors import IntakePending
from core.intake.service import PUBLIC, IntakeResult, IntakeService
from core.models import Attachment
from core.security.ratelimit import rate_limit
from web import formdata, labels, lookups
from web.deps import SAFE_METHODS, check_public_csrf
from web.public import tracking
from web.public.forms import ReportForm, intake_request, posted_report
from web.templating import error_status, redirect, render
from web.uploads import (
    Outcome,
    public_message,
    public_uploader,
    quota_message,
    store_files,
    with_retry_after,
)


async def limit_body(request: Request) -> None:
    """Refuse a post larger than one photo or video makes, before anything reads its body."""
    if request.method in SAFE_METHODS:
        return
    length = request.headers.get("content-length", "")
    if not (length.isascii() and length.isdigit()):
        raise HTTPException(411, "请求缺少长度信息")
    limit = attachments.upload_limit(_settings(request))
    if int(length) > limit:
        raise HTTPException(413, f"文件过大（上限 {_mb(limit)} MB）")


# Abuse limits of the public routes, by route name (Settings.rate_limits): counted before the
# length check and the CSRF check read anything of the body.
LIMITS = {
    "submit_report": "report",
    "upload": "upload",
    "lookup": "track",
    "track": "track",
    "rate": "track",
}


async def rate_limited(request: Request) -> None:
    if name := LIMITS.get(request.scope["route"].name):
        await rate_limit(name)(request)


router = APIRouter(
    dependencies=[Depends(rate_limited), Depends(limit_body), Depends(check_public_csrf)]
)

UPLOADED_BY = uploads.PUBLIC  # what an attachment of the public shows as its uploader
NOT_FOUND = "未找到该工单，请核对工单号和查询码"

FIELD_LABELS = {
    "category": "问题类型",
    "description": "问题描述",
    "location": "位置",
    "address": "详细地址",
    "attachments": "照片/视频",
    "reporter_name": "姓名",
    "reporter_phone": "手机号",
    "reporter_email": "电子邮箱",
}
# Model fields shown elsewhere on the public form: the title is made of the description.
_SHOWN_AT = {
    "title": "description",
    "lat": "location",
    "lon": "location",
    "location_unit_id": "location",
}
_INVALID = {
    "lat": "纬度应为 -90 到 90 之间的数字，如 32.0603",
    "lon": "经度应为 -180 到 180 之间的数字，如 118.7969",
    "reporter_phone": "请填写正确的手机号",
    "reporter_email": "请填写正确的电子邮箱",
    "attachments": "最多上传 10 个照片或视频",
}
# The refusals a citizen can cause, by code: the field they show at and their words for citizens.
_REFUSALS = {
    "description_needed": ("description", "请描述问题"),
    "unknown_category": ("category", "请选择问题类型"),
    "location_needed": ("location", "请在地图上选择位置或填写经纬度"),
    "point_incomplete": ("location", "请同时填写纬度和经度"),
    "point_outside": ("location", "该位置不在南京市范围内"),
    "attachment_missing": ("attachments", "照片或视频未上传成功，请重新上传"),
}


@dataclass
class Preview:
    """One uploaded file on the form: its name and, for an image, its thumbnail inline."""

    sha256: str
    name: str
    kind: str
    src: str = ""  # a data: URI; files themselves are served to logged-in users only


# ---- the report form ---------------------------------------------------------------------
@router.get("/report")
def report_form(request: Request) -> Response:
    """The citizen's report form."""
    return _form(request, ReportForm())


@router.post("/report")
async def submit_report(request: Request) -> Response:
    """File the report; errors come back next to their fields with the values kept."""
    form = await request.form()
    report = posted_report(form)
    stored, failures = await _store_all(request, _files(form, "files"))  # posted without JS
    report.shas += [row.sha256 for row in stored.rows]
    if failures:
        report.errors = {"attachments": "；".join(f"{n}：{m}" if n else m for n, m in failures)}
        status = error_status(request, 429 if stored.quota else 422)
        return with_retry_after(_form(request, report, status), stored.retry_after)
    intake: IntakeService = request.app.state.intake
    try:
        key = formdata.idempotency_key(form)
        result = await intake.submit(PUBLIC, intake_request(report), key=key)
    except IntakePending as pending:  # the case started; routing is slow
        return _submitted_pending(request, pending)
    except (ValidationError, CaseError) as err:
        report.errors = _errors(err)
        status = err.status if isinstance(err, CaseError) else 422
        return _form(request, report, error_status(request, status))
    return _submitted(request, result)


@router.post("/report/attachments")
async def upload(request: Request) -> Response:
    """Keep the posted photo or video; answer with its thumbnail, or the refusal inline."""
    files = _files(await request.form(), "file")
    stored, failures = await _store_all(request, files)
    if not files:
        failures.append(("", "请选择照片或视频"))
    context = {"items": _previews(_settings(request), stored.rows), "failures": failures}
    status = 200
    if failures and not stored.rows:
        status = error_status(request, 429 if stored.quota else 422)
    response = render(request, "public/_upload.html", context, block="upload", status=status)
    return with_retry_after(response, stored.retry_after)


def _form(request: Request, report: ReportForm, status: int = 200) -> Response:
    settings = _settings(request)
    with session_scope(request.app.state.sessions) as session:
        # Only what the public uploaded is shown back: a name posted here reveals no other file.
        rows = [
            row
            for row in attachments.get_many(session, report.shas)
            if row.uploaded_by == UPLOADED_BY
        ]
    context = {
        "categories": lookups.category_groups(request.app.state.sessions),
        "values": report.values,
        "errors": report.errors,
        "summary": _summary(report.errors),
        "items": _previews(settings, rows),
        "failures": [],
        "max_image_mb": _mb(settings.max_image_bytes),
        "max_video_mb": _mb(settings.max_video_bytes),
        "max_image_bytes": settings.max_image_bytes,
        "max_video_bytes": settings.max_video_bytes,
    }
    return render(request, "public/report.html", context, block="report", status=status)


def _errors(err: ValidationError | CaseError) -> dict[str, str]:
    """Messages by field of the public form, in Chinese."""
    if isinstance(err, CaseError):
        if err.code in _REFUSALS:
            name, message = _REFUSALS[err.code]
            return {name: message}
        if err.status >= 500:
            return {"": "系统繁忙，请稍后再试"}
        return {_SHOWN_AT.get(err.field, err.field): labels.refusal_text(err)}
    errors: dict[str, str] = {}
    for name, message in labels.field_errors(err).items():
        errors.setdefault(_SHOWN_AT.get(name, name), _INVALID.get(name, message))
    return errors


def _summary(errors: dict[str, str]) -> str:
    return "；".join(
        f"{FIELD_LABELS.get(name, name)}：{message}" if name else message
        for name, message in errors.items()
    )


def _submitted(request: Request, result: IntakeResult) -> Response:
    status = result.case.status.value
    return _submitted_page(
        request, result.ticket, result.tracking_token, result.merged, result.case.ticket, status
    )


def _submitted_pending(request: Request, pending: IntakePending) -> Response:
    ticket = pending.ticket
    return _submitted_page(request, ticket, pending.tracking_token, False, ticket, "RECEIVED")


def _submitted_page(
    request: Request, ticket: str, token: str, merged: bool, case_ticket: str, status: str
) -> Response:
    code = request.app.state.cases.query_code(ticket)
    context = {
        "ticket": ticket,
        "token": token,
        "code": codes.shown(code),
        "tracking_url": str(request.url_for("track", ticket=ticket).include_query_params(t=token)),
        "merged": merged,
        "case_ticket": case_ticket,
        "status": tracking.public_status(status).value,
        "status_name": tracking.status_name(status),
    }
    return _private(render(request, "public/submitted.html", context, block="report"))


# ---- uploads -----------------------------------------------------------------------------
def _files(form: FormData, name: str) -> list[UploadFile]:
    # An empty file input still posts a part, without a file name.
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


async def _store_all(
    request: Request, files: list[UploadFile]
) -> tuple[Outcome, list[tuple[str, str]]]:
    """Store each file; with the refusals as (file name, message in Chinese)."""
    outcome = await store_files(request, public_uploader(request), files)
    settings = _settings(request)
    failures = [
        (name, public_message(item, settings))
        for name, item in outcome.items
        if isinstance(item, CaseError)
    ]
    if outcome.quota:
        failures.append(("", quota_message(outcome.quota)))
    return outcome, failures


def _previews(settings: Settings, rows: Iterable[Attachment]) -> list[Preview]:
    previews = []
    for row in rows:
        src = ""
        thumb = attachments.path_of(settings, row.sha256, thumbnail=True)
        if row.has_thumbnail and thumb.is_file():
            src = "data:image/jpeg;base64," + base64.b64encode(thumb.read_bytes()).decode()
        previews.append(Preview(row.sha256, row.filename or "未命名文件", row.kind, src))
    return previews


# ---- tracking ----------------------------------------------------------------------------
@router.get("/track")
async def lookup(request: Request, ticket: str = "", t: str = "") -> Response:
    """Find a report by ticket and tracking token, for those who kept only the numbers."""
    ticket, t = ticket.strip(), t.strip()
    if not ticket and not t:
        return _lookup(request, "", "")
    try:
        found = await tracking.find(request.app.state.cases, ticket, t)
    except CaseError:
        return _lookup(request, ticket, "暂时无法查询，请稍后再试", 503)
    if found is None:
        return _lookup(request, ticket, NOT_FOUND, 404)
    return redirect(request, f"/track/{ticket}?{urlencode({'t': t})}")


@router.get("/track/{ticket}", name="track")
async def track_page(request: Request, ticket: str, t: str = "") -> Response:
    """A report's progress for whoever holds its tracking token; to anyone else, 404."""
    try:
        found = await tracking.find(request.app.state.cases, ticket, t.strip())
    except CaseError:
        return _lookup(request, ticket, "暂时无法查询，请稍后再试", 503)
    if found is None:
        return _lookup(request, ticket, NOT_FOUND, 404)
    return _track(request, found, t.strip())


@router.post("/track/{ticket}/rate", name="rate")
async def rate(request: Request, ticket: str) -> Response:
    """评价: the reporter rates the result; it is the case's 回访, recorded as the citizen's."""
    form = await request.form()
    token = formdata.text(form, "t")
    cases = request.app.state.cases
    try:
        found = await tracking.find(cases, ticket, token)
    except CaseError:
        return _lookup(request, ticket, "暂时无法查询，请稍后再试", 503)
    if found is None:
        return _lookup(request, ticket, NOT_FOUND, 404)
    fields = _rating_fields(form)
    try:
        if found.merged or not found.case.may_rate:
            raise CaseError(409, "not open for rating")
        req = CitizenRating.model_validate(fields)
        state = await cases.rate_by_citizen(ticket, req, key=formdata.idempotency_key(form))
    except ValidationError:
        return _track(request, found, token, rate_error=("请选择满意程度", fields), status=422)
    except CaseError as err:
        if err.status == 409:
            await _refresh(cases, found)  # rated already: the read model may not show it yet
        refused = (_rate_refusal(err), fields)
        return _track(request, found, token, rate_error=refused, status=err.status)
    found.case.rating, found.case.status = state.rating, state.status.value
    return _track(request, found, token, thanks=True)


async def _refresh(cases: CaseService, found: tracking.Tracking) -> None:
    """The case's rating and status live from its workflow, where it answers."""
    try:
        state = await cases.live_state(found.case.ticket)
    except CaseError:
        return
    found.case.rating, found.case.status = state.rating, state.status.value


def _rating_fields(form: FormData) -> dict[str, str | None]:
    return {
        "rating": formdata.text(form, "rating"),
        "outcome": formdata.text(form, "outcome") or None,
        "comment": formdata.text(form, "comment"),
    }


def _rate_refusal(err: CaseError) -> str:
    if err.status == 409:
        return "该工单已评价或正在重新办理"
    return "系统繁忙，请稍后再试" if err.status >= 500 else "评价未能提交，请检查后重试"


def _track(
    request: Request,
    found: tracking.Tracking,
    token: str,
    *,
    rate_error: tuple[str, dict[str, str | None]] = ("", {}),
    thanks: bool = False,
    status: int = 200,
) -> Response:
    settings = _settings(request)
    with session_scope(request.app.state.sessions) as session:
        after = _previews(settings, attachments.get_many(session, found.case.after))
    context = {
        "report": found,
        "token": token,
        "code": codes.shown(request.app.state.cases.query_code(found.ticket)),
        "after": after,
        "STAGES": tracking.STAGES,
        "rate_error": rate_error[0],
        "thanks": thanks,
        "values": rate_error[1],
    }
    code = error_status(request, status) if status >= 400 else status
    return _private(render(request, "public/track.html", context, block="track", status=code))


def _lookup(request: Request, ticket: str, error: str, status: int = 200) -> Response:
    context = {"ticket": ticket, "error": error}
    status = error_status(request, status) if status >= 400 else status
    return render(request, "public/lookup.html", context, block="lookup", status=status)


# ---- helpers -----------------------------------------------------------------------------
def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _mb(n: int) -> int:
    return n // attachments.MIB


def _private(response: Response) -> Response:
    """A page carrying a tracking token: kept out of shared caches, referrers and indexes."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
