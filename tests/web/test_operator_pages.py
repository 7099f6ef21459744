"""The operator's intake: a confirmation to read to the caller, and the caller's earlier calls."""

from __future__ import annotations

from tests.web.support import HX, Web, login, new_case, queue_row


async def test_intake_confirms_where_the_case_went_and_offers_the_next_call(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    page = await web.http.get(f"/cases/{ticket}")
    assert f"已登记 {ticket}，派往 宁海路街道，签收时限 " in page.text
    assert 'href="/cases/new" data-testid="next-call">下一个来电<' in page.text
    again = await web.http.get(f"/cases/{ticket}")
    assert "下一个来电" not in again.text  # the notice is shown once


async def test_a_callers_earlier_calls_are_found_by_number_and_masked(web: Web) -> None:
    phone = "13700001111"
    await login(web.http, "operator1")
    first = await new_case(web.http, reporter_phone=phone, reporter_name="赵女士")
    await queue_row(web.http, first)  # in the read model
    mine = await web.http.get("/cases/calls", params={"reporter_phone": phone}, headers=HX)
    assert mine.status_code == 200 and first in mine.text
    assert "赵女士" in mine.text and phone in mine.text  # the operator took this call

    await login(web.http, "dispatcher_gl")  # sees the area, did not take the call
    theirs = await web.http.get("/cases/calls", params={"reporter_phone": phone}, headers=HX)
    assert first in theirs.text and "赵女士" not in theirs.text and phone not in theirs.text
    assert "137****1111" in theirs.text
    short = await web.http.get("/cases/calls", params={"reporter_phone": "137"}, headers=HX)
    assert 'data-testid="earlier-call"' not in short.text and first not in short.text

    form = await web.http.get("/cases/new")
    assert 'hx-get="/cases/calls"' in form.text


async def test_only_intake_roles_look_up_callers(web: Web) -> None:
    await login(web.http, "handler_nhl")
    refused = await web.http.get("/cases/calls", params={"reporter_phone": "13700001111"})
    assert refused.status_code == 403
