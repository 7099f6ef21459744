"""Personal information on the pages: the view log page, staff phones in the directory, and the
result a citizen tracks, with a handler's note scrubbed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from sqlmodel import select

from core.db import session_scope
from core.models import CaseEventRecord, CaseRecord
from tests.conftest import projected
from tests.web.support import Web, login, new_case, post, queue_row
from tests.web.test_public_pages import report, ticket_of, tracked, tracking_link


async def test_a_supervisor_reads_who_saw_reporters_whole(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http, reporter_name="张先生", reporter_phone="13800000000")
    await queue_row(web.http, ticket)  # the taker's queue shows the reporter whole
    await login(web.http, "handler_nhl")
    assert (await web.http.get(f"/cases/{ticket}")).status_code == 200  # masked: not logged
    await login(web.http, "supervisor_gl")
    case_page = await web.http.get(f"/cases/{ticket}")
    assert "13800000000" in case_page.text

    page = await web.http.get("/audit/personal-data-views", params={"subject": ticket})
    assert page.status_code == 200 and 'data-testid="nav-data-views"' in page.text
    viewers = re.findall(r'data-testid="viewer">([^<]+)<', page.text)
    routes = re.findall(r'data-testid="route">([^<]+)<', page.text)
    assert sorted(zip(viewers, routes, strict=True)) == [
        ("operator1", "GET /"),  # the queue
        ("supervisor_gl", f"GET /cases/{ticket}"),
    ]
    assert "反映人姓名、反映人电话" in page.text

    await login(web.http, "handler_nhl")
    refused = await web.http.get("/audit/personal-data-views")
    assert refused.status_code == 403 and "只有督办员可以查看" in refused.text
    assert 'data-testid="nav-data-views"' not in refused.text


async def test_the_directory_masks_phones_of_other_units(web: Web) -> None:
    await login(web.http, "handler_nhl")
    page = html.unescape((await web.http.get("/directory", params={"unit": "gl"})).text)
    assert "13905140401" in page  # 宁海路街道综合执法队, the user's own unit
    assert "13905140101" not in page and "139****0101" in page  # 鼓楼区水务局's
    await login(web.http, "supervisor_gl")
    page = html.unescape((await web.http.get("/directory", params={"unit": "gl"})).text)
    assert "13905140101" in page and "13905140401" in page


async def test_the_tracked_result_carries_no_personal_information(web: Web) -> None:
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    await projected(web.sessions, f"case-{ticket}", 3)
    await login(web.http, "supervisor_gl")
    note = {
        "reason": "现场核实已解决",
        "note": "已联系王先生（13912345678），颐和路12号3栋门口已清运",
    }
    closed = await post(web.http, f"/cases/{ticket}/actions/force_close", note)
    assert closed.status_code == 303, closed.text
    await post(web.http, "/logout", {})
    page = await tracked(web.http, link, "结案")
    assert "已联系某先生（[电话]），颐和路门口已清运" in page.text
    for private in ("王先生", "13912345678", "12号", "3栋"):
        assert private not in page.text


async def test_the_tracked_page_shows_no_step_its_case_row_has_not_reached(web: Web) -> None:
    """The row and its events are read by two statements, not from one snapshot: a projection
    that commits between them looks like events ahead of the row, made here directly."""
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    await projected(web.sessions, f"case-{ticket}", 3)
    with session_scope(web.sessions) as session:
        case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).one()
        ahead = CaseEventRecord(
            case_id=case.id,
            seq=case.last_seq + 1,
            at=datetime.now(UTC),
            action="force_close",
            actor_username="supervisor_gl",
            actor_name="督办员",
            actor_role="supervisor",
            actor_unit_id="gl",
            from_status=case.status,
            to_status="CLOSED",
            payload={"note": "门口已清运"},
        )
        session.add(ahead)
    page = await web.http.get(link)
    assert page.status_code == 200 and ticket in page.text
    assert "结案" not in page.text and "门口已清运" not in page.text
