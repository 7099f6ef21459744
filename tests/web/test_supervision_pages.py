"""Supervision in the web UI: override forms on the case page, the inbox, bulk overrides."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.conftest import make_settings
from tests.web.support import HX, Web, login, new_case, post, web_stack
from tests.workflows.support import service_for, start_case, until_dispatched

OVERRIDES = ("reassign", "change_category", "change_priority", "extend_deadline", "force_close")


async def test_a_supervisor_sees_override_forms_and_a_handler_does_not(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)

    await login(web.http, "supervisor_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert 'data-testid="overrides"' in page and "督办操作" in page
    for action in (*OVERRIDES, "void_invalid"):
        assert f'data-testid="action-{action}"' in page, action
    for absent in ("de_escalate", "reopen"):  # not escalated, not closed
        assert f'data-testid="action-{absent}"' not in page
    priority = _form(page, "change_priority")
    assert '<option value="critical">特急</option>' in priority
    assert '<option value="normal" selected>普通</option>' in priority
    assert 'max="540"' in _form(page, "extend_deadline")
    assert '<option value="gl-dept-urban">鼓楼区城市管理局</option>' in _form(page, "reassign")
    assert 'value="exposed_garbage" selected' in _form(page, "change_category")
    assert 'name="review_at"' not in page  # 挂账 is for a case being handled
    assert 'href="/overrides"' in page  # the nav offers bulk overrides

    await login(web.http, "handler_nhl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert 'data-testid="action-accept"' in page
    assert 'data-testid="overrides"' not in page and "action-reassign" not in page
    assert 'href="/overrides"' not in page


async def test_a_reassignment_reaches_the_new_units_inbox_which_marks_it_read(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "supervisor_gl")
    form = {"unit_id": "gl-dept-urban", "reason": "属城管执法范围"}
    moved = await post(web.http, f"/cases/{ticket}/actions/reassign", form, HX)
    assert moved.status_code == 200 and "action-error" not in moved.text
    assert 'data-testid="assigned-unit">鼓楼区城市管理局<' in moved.text
    assert (
        "改派：宁海路街道 → 鼓楼区城市管理局" in moved.text and "原因：属城管执法范围" in moved.text
    )

    await login(web.http, "handler_gl_urban")
    page = await _inbox_with(web.http, ticket)
    group = _inbox_case(page, ticket)
    row = _inbox_row(page, ticket)
    assert 'data-kind="reassign"' in row and ">改派<" in row and "属城管执法范围" in row
    assert f'href="/cases/{ticket}"' in group and 'class="unread"' in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)  # China time
    assert "1 条，<strong>1 条未读</strong>" in group
    assert re.search(r'data-testid="unread-count"[^>]*>1<', page)  # the nav's badge
    assert 'hx-get="/inbox/badge" hx-trigger="every 30s"' in page  # ... which polls
    assert '<option value="reassign">改派（1 条未读）</option>' in page  # the kind filter
    badge = await web.http.get("/inbox/badge", headers=HX)
    assert (
        re.search(r'data-testid="unread-count"[^>]*>1<', badge.text) and "<html" not in badge.text
    )
    assert 'id="whistle-badge"' in badge.text and 'hx-swap-oob="true"' in badge.text
    fragment = await web.http.get("/inbox", headers=HX)
    assert fragment.text.lstrip().startswith('<section id="inbox"') and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"] and "hx-swap-oob" not in fragment.text
    assert ticket not in (await web.http.get("/inbox?kind=escalate")).text

    item = re.search(r"/inbox/(\d+)/read", row)
    assert item
    read = await post(web.http, f"/inbox/{item.group(1)}/read", {"show": "all"}, HX)
    assert read.status_code == 200 and read.text.lstrip().startswith('<section id="inbox"')
    assert 'class="read"' in _inbox_row(read.text, ticket) and "标为已读" not in read.text
    assert 'id="inbox-badge"' in read.text and 'hx-swap-oob="true"' in read.text
    assert re.search(r'data-testid="unread-count"[^>]*hidden>0<', read.text)
    assert ticket not in (await web.http.get("/inbox?show=unread")).text
    assert ticket in (await web.http.get("/inbox")).text  # 全部 keeps it, below the unread

    plain = await post(web.http, f"/inbox/{item.group(1)}/read", {"show": "unread"})
    assert plain.status_code == 303 and plain.headers["location"] == "/inbox?show=unread"
    await login(web.http, "handler_hq")  # another unit's item is not theirs to read
    foreign = await post(web.http, f"/inbox/{item.group(1)}/read", {}, HX)
    assert 'data-testid="inbox-error"' in foreign.text and ticket not in foreign.text
    assert (await post(web.http, f"/inbox/{item.group(1)}/read", {})).status_code == 404


async def test_a_busy_case_is_one_group_and_mark_all_read_clears_the_filter(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "supervisor_gl")
    for unit in ("gl-dept-urban", "gl-nhl", "gl-dept-urban"):
        moved = await post(
            web.http,
            f"/cases/{ticket}/actions/reassign",
            {"unit_id": unit, "reason": "改派测试"},
            HX,
        )
        assert "action-error" not in moved.text, moved.text
    await login(web.http, "handler_gl_urban")
    # to it, away from it (its staff hear the case left), to it again
    page = await _inbox_with(web.http, ticket, count=3)
    group = _inbox_case(page, ticket)
    assert (
        group.count('data-testid="inbox-item"') == 3 and "3 条，<strong>3 条未读</strong>" in group
    )
    assert 'data-testid="mark-case-read"' in group
    assert page.count(f'data-ticket="{ticket}"') == 1  # one group per case

    other = await post(web.http, "/inbox/read", {"kind": "escalate"}, HX)  # another kind: none
    assert other.status_code == 200 and "暂无消息" in other.text  # the view keeps its filter
    still = (await web.http.get("/inbox")).text
    assert "3 条，<strong>3 条未读</strong>" in _inbox_case(still, ticket)
    done = await post(web.http, "/inbox/read", {"show": "unread"}, HX)
    assert done.status_code == 200 and ticket not in done.text and "暂无未读消息" in done.text
    assert re.search(r'data-testid="unread-count"[^>]*hidden>0<', done.text)
    plain = await post(web.http, "/inbox/read", {"kind": "reassign"})
    assert plain.status_code == 303 and plain.headers["location"] == "/inbox?kind=reassign"


async def test_an_invalid_extension_is_refused_inline_with_the_form_open(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "supervisor_gl")
    url = f"/cases/{ticket}/actions/extend_deadline"

    zero = await post(web.http, url, {"hours": "0", "reason": "节前人手不足"}, HX)
    assert zero.status_code == 200 and "延长时限未完成：延期工时：必填" in zero.text
    assert '<details class="override" data-testid="override-extend_deadline" open>' in zero.text
    assert "节前人手不足</textarea>" in zero.text  # what was typed is kept
    unreasoned = await post(web.http, url, {"hours": "8"}, HX)
    assert "延长时限未完成：原因：必填" in unreasoned.text
    too_long = await post(web.http, url, {"hours": "541", "reason": "x"}, HX)
    assert "须在 1 到 540 小时之间" in too_long.text
    plain = await post(web.http, url, {"hours": "0", "reason": "x"})
    assert plain.status_code == 422 and "<html" in plain.text

    done = await post(web.http, url, {"hours": "9", "reason": "节前人手不足"}, HX)
    assert "action-error" not in done.text and "延长 9 工时，新截止时间" in done.text


async def test_priority_park_review_and_the_extension_decision_need_their_fields(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    url = f"/cases/{ticket}/actions"
    await post(web.http, f"{url}/accept", {})
    await post(web.http, f"{url}/request_extension", {"hours": "8", "reason": "需协调"})

    await login(web.http, "supervisor_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert 'id="decide_extension-reason"' in _form(page, "decide_extension")
    bare = await post(web.http, f"{url}/decide_extension", {"approve": "true"}, HX)
    assert "审批延期未完成：原因：必填" in bare.text
    decided = await post(
        web.http, f"{url}/decide_extension", {"approve": "true", "reason": "同意"}, HX
    )
    assert "延期 8 工时：批准" in decided.text

    critical = await post(
        web.http, f"{url}/change_priority", {"priority": "critical", "reason": "媒体关注"}, HX
    )
    assert (
        'data-testid="priority">特急<' in critical.text and "优先级：普通 → 特急" in critical.text
    )

    review = {"reason": "等待管线迁改", "review_at": "2030-01-02T09:30"}  # China time
    parked = await post(web.http, f"{url}/park", review, HX)
    assert 'data-testid="status">挂账中<' in parked.text
    assert 'data-testid="review-at">2030-01-02 09:30<' in parked.text
    assert "复核时间：2030-01-02 09:30" in parked.text


async def test_the_bulk_page_is_for_supervisors_only(web: Web) -> None:
    for username in ("handler_nhl", "dispatcher_gl"):
        await login(web.http, username)
        page = await web.http.get("/overrides")
        assert page.status_code == 403 and "批量督办仅限督办员使用" in page.text
        preview = await post(web.http, "/overrides/preview", {"district": "gl"}, HX)
        assert preview.status_code == 403
        start = await post(web.http, "/overrides", {"action": "extend_deadline"}, HX)
        assert start.status_code == 403
        assert (await web.http.get("/overrides/bulk-0123456789ab")).status_code == 403

    await login(web.http, "supervisor_gl")
    page = await web.http.get("/overrides")
    assert page.status_code == 200 and 'data-testid="bulk-filter"' in page.text
    assert '<option value="gl">鼓楼区</option>' in page.text
    assert '<option value="xw">' not in page.text  # only districts of the supervisor's area
    assert (await web.http.get("/overrides/nope")).status_code == 404


async def test_a_bulk_extension_previews_then_applies_to_the_matching_cases(web: Web) -> None:
    await login(web.http, "operator1")
    tickets = [await new_case(web.http) for _ in range(2)]
    other = await new_case(web.http, category="streetlight", title="路灯不亮")
    await login(web.http, "supervisor_gl")
    filters = {"district": "gl", "category": "exposed_garbage", "status": "", "overdue": ""}

    preview = await _preview(web.http, filters, count=2)
    assert preview.text.lstrip().startswith('<div class="card bulk-preview"')
    assert all(t in preview.text for t in tickets) and other not in preview.text
    assert 'name="expected" value="2"' in preview.text and "确认延长时限 2 件" in preview.text

    confirm = {**filters, "action": "extend_deadline", "hours": "8", "reason": "暴雨"}
    stale = await post(web.http, "/overrides", {**confirm, "expected": "3"}, HX)
    assert stale.status_code == 200 and 'data-testid="bulk-error"' in stale.text
    assert (
        "筛选结果已从 3 件变为 2 件" in stale.text and 'data-testid="bulk-count">2<' in stale.text
    )
    unreasoned = await post(web.http, "/overrides", {**confirm, "reason": "", "expected": "2"}, HX)
    assert "批量督办未开始：原因：必填" in unreasoned.text
    absurd = await post(web.http, "/overrides", {**confirm, "hours": "541", "expected": "2"}, HX)
    assert "延期工时：须在 1 到 540 小时之间" in absurd.text

    started = await post(web.http, "/overrides", {**confirm, "expected": "2"}, HX)
    assert started.status_code == 200 and 'data-testid="bulk-progress"' in started.text
    bulk_id = re.search(r"bulk-[0-9a-f]{12}", started.text)
    assert bulk_id
    progress = await _finished(web.http, bulk_id.group(0), started.text)
    assert 'data-testid="bulk-total">2<' in progress and 'data-testid="bulk-applied">2<' in progress
    assert 'data-testid="bulk-refused">0<' in progress and "hx-trigger" not in progress

    case = (await web.http.get(f"/cases/{tickets[0]}")).text
    assert "延长 8 工时" in case and 'class="tag bulk">批量督办<' in case and "原因：暴雨" in case
    plain = await post(web.http, "/overrides", {**confirm, "expected": "2"})
    assert plain.status_code == 303 and plain.headers["location"].startswith("/overrides/bulk-")


async def test_an_escalated_case_shows_its_ladder_and_can_be_de_escalated(
    ts_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    service = service_for(ts_env, sqlite_db, make_settings(sqlite_db, ts_env.client, task_queue))
    async with web_stack(ts_env.client, sqlite_db, task_queue) as stack:
        handle = await start_case(service)  # 宁海路街道 holds it: ladder 鼓楼区 → 南京市
        ticket = (await until_dispatched(handle)).ticket
        await ts_env.sleep(timedelta(weeks=2))
        await login(stack.http, "supervisor_gl")
        page = (await stack.http.get(f"/cases/{ticket}")).text
        assert 'data-testid="escalation-level">督办 2 级<' in page
        assert 'data-testid="escalated-to">已升级至 南京市<' in page
        assert 'data-testid="priority">特急<' in page
        assert "第 1 级 · 升级至 鼓楼区 · 优先级 紧急" in page
        assert "催办" in page and ">市级通报<" in page and "向南京市通报" in page
        inbox = await _inbox_with(stack.http, ticket)
        assert 'data-kind="escalate"' in inbox and ">升级督办<" in inbox
        assert re.search(r'data-testid="inbox-reason">[^<]*升级至', inbox)  # what it did

        url = f"/cases/{ticket}/actions/de_escalate"
        cleared = await post(stack.http, url, {"reason": "已协调处置"}, HX)
        assert "action-error" not in cleared.text and "撤销第 2 级督办" in cleared.text
        assert "escalation-level" not in cleared.text and "escalated-to" not in cleared.text


def _form(page: str, action: str) -> str:
    start = page.index(f'data-testid="action-{action}"')
    return page[start : page.index("</form>", start)]


def _inbox_case(page: str, ticket: str) -> str:
    groups = re.findall(r'<article class="inbox-case.*?</article>', page, re.S)
    return next(g for g in groups if f'data-ticket="{ticket}"' in g)


def _inbox_row(page: str, ticket: str) -> str:
    return re.findall(r'<li data-testid="inbox-item".*?</li>', _inbox_case(page, ticket), re.S)[0]


async def _inbox_with(http: httpx.AsyncClient, ticket: str, count: int = 1) -> str:
    """The inbox page once the projection has written `count` items of the case (asynchronous)."""
    for _ in range(100):
        page = await http.get("/inbox")
        if ticket in page.text and _inbox_case(page.text, ticket).count("inbox-item") >= count:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached the inbox")


async def _preview(http: httpx.AsyncClient, filters: dict[str, str], count: int) -> httpx.Response:
    """The preview once the read model holds all `count` cases."""
    for _ in range(100):
        preview = await post(http, "/overrides/preview", filters, HX)
        if f'data-testid="bulk-count">{count}<' in preview.text:
            return preview
        await asyncio.sleep(0.05)
    raise AssertionError(f"the preview never reached {count}: {preview.text}")


async def _finished(http: httpx.AsyncClient, bulk_id: str, fragment: str) -> str:
    """Poll as the fragment does, until it says it is done."""
    for _ in range(200):
        if 'data-done="true"' in fragment:
            return fragment
        assert f'hx-get="/overrides/{bulk_id}" hx-trigger="every 1s"' in fragment
        await asyncio.sleep(0.05)
        fragment = (await http.get(f"/overrides/{bulk_id}", headers=HX)).text
    raise AssertionError(f"{bulk_id} never finished")
