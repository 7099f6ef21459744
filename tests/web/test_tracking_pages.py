"""The citizen's side of a case: a short query code, the outcome with photos, and 评价."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import select

from core.cases import codes
from core.db import session_scope
from core.models import CaseEventRecord, CaseRecord
from tests.conftest import projected
from tests.web.support import Web, csrf, login, post
from tests.web.test_evidence_pages import act, uploaded
from tests.web.test_public_pages import report, ticket_of, tracked, tracking_link

CODE = re.compile(r'data-testid="query-code">([^<]+)<')

# The status badge, not the word: the progress bar names 已办结 at every stage.
CLOSED_BADGE = 'data-testid="status">已办结<'


def test_query_codes_are_short_readable_and_forgiving() -> None:
    code = codes.query_code("secret", "CL20261202-000001")
    assert len(code) == 8 and not set(code) & set("01OIL")
    assert code == codes.query_code("secret", "CL20261202-000001")  # derived, not stored
    assert code != codes.query_code("secret", "CL20261202-000002")
    typed = codes.shown(code).lower()  # "abcd-efgh", as a person may type it
    assert codes.matches("secret", "CL20261202-000001", typed)
    assert not codes.matches("secret", "CL20261202-000002", typed)
    assert not codes.matches("other", "CL20261202-000001", typed)


async def archived(web: Web, ticket: str) -> CaseRecord:
    """The case's row once the projection has written it archived."""
    for _ in range(200):
        row = await projected(web.sessions, f"case-{ticket}", 1)
        if row.status == "ARCHIVED":
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never archived")


async def handle_and_close(web: Web, ticket: str) -> list[str]:
    """The street handles the case with two photos and the district verifies it."""
    await login(web.http, "handler_nhl")
    await act(web, ticket, "accept", [])
    photos = await uploaded(web, 5, 6)
    fields = [("note", "垃圾已清运，联系人 13912345678"), *[("attachments", s) for s in photos]]
    await act(web, ticket, "submit_feedback", fields)
    await login(web.http, "verifier_gl")
    await act(web, ticket, "verify", [("passed", "true")])
    await post(web.http, "/logout", {})
    return photos


async def closed_report(web: Web) -> tuple[str, str, str]:
    """A citizen's report, handled and closed, its tracking page showing it 已办结: the
    ticket, the tracking link and the link's token."""
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    await tracked(web.http, link, "派遣")
    await handle_and_close(web, ticket)
    await tracked(web.http, link, CLOSED_BADGE)
    return ticket, link, link.split("?t=", 1)[1]


async def test_a_citizen_tracks_by_short_code_sees_photos_and_rates(web: Web) -> None:
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    found = CODE.search(done.text)
    assert found and "复制" in done.text, done.text
    code = found.group(1)
    await tracked(web.http, link, "派遣")
    by_code = await web.http.get("/track", params={"ticket": ticket, "t": code.lower()})
    assert by_code.status_code == 303
    page = await web.http.get(by_code.headers["location"])
    assert page.status_code == 200 and 'data-testid="unit">宁海路街道<' in page.text
    assert "颐和路口垃圾堆放两天未清运" in page.text, page.text
    assert (await web.http.get(link)).status_code == 200  # the long token still works

    await handle_and_close(web, ticket)
    page = await tracked(web.http, link, CLOSED_BADGE)
    assert page.text.count('alt="处理后照片') == 2 and "data:image/jpeg;base64," in page.text
    assert "13912345678" not in page.text and "/files/" not in page.text
    assert 'data-testid="rate-form"' in page.text

    form = {"t": code, "rating": "satisfied", "outcome": "solved", "comment": "很及时"}
    form["idempotency_key"] = "rate-1"
    rated = await post(web.http, f"/track/{ticket}/rate", form)
    assert rated.status_code == 200 and "感谢您的评价" in rated.text, rated.text
    again = await post(web.http, f"/track/{ticket}/rate", form)  # a double submission
    assert 'data-testid="rate-form"' not in again.text
    row = await archived(web, ticket)
    with session_scope(web.sessions) as session:
        rates = session.exec(
            select(CaseEventRecord).where(
                CaseEventRecord.case_id == row.id, CaseEventRecord.action == "rate_by_citizen"
            )
        ).all()
    assert len(rates) == 1 and rates[0].actor_name == "市民"
    assert rates[0].payload == {"note": "很及时", "rating": "satisfied", "outcome": "solved"}
    assert row.rating == "satisfied"
    assert (await web.http.get(link)).text.count('data-testid="rating">满意<') == 1


async def test_a_rating_without_a_choice_keeps_the_comment(web: Web) -> None:
    ticket, _link, token = await closed_report(web)
    refused = await web.http.post(
        f"/track/{ticket}/rate",
        data={"t": token, "comment": "还行", "csrf_token": await csrf(web.http, "/report")},
    )
    assert refused.status_code == 422 and "请选择满意程度" in refused.text
    assert ">还行</textarea>" in refused.text


async def test_after_an_unsatisfied_rating_the_case_is_redone_and_rated_again(web: Web) -> None:
    ticket, link, token = await closed_report(web)
    first = await post(web.http, f"/track/{ticket}/rate", {"t": token, "rating": "unsatisfied"})
    assert "我们将重新办理" in first.text
    other_key = await post(web.http, f"/track/{ticket}/rate", {"t": token, "rating": "satisfied"})
    assert other_key.status_code == 409 and 'data-testid="rate-form"' not in other_key.text

    await login(web.http, "handler_nhl")
    await act(web, ticket, "submit_feedback", [("note", "重新清运并消毒")])
    await login(web.http, "verifier_gl")
    await act(web, ticket, "verify", [("passed", "true")])
    await post(web.http, "/logout", {})
    page = await tracked(web.http, link, 'data-testid="earlier-rating"')
    assert "上次评价：不满意" in page.text and 'data-testid="rate-form"' in page.text
    second = await post(web.http, f"/track/{ticket}/rate", {"t": token, "rating": "satisfied"})
    assert "感谢您的评价" in second.text
    assert (await archived(web, ticket)).rating == "satisfied"  # the second rating counts
