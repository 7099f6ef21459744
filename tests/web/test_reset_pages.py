"""The case page's reset, for supervisors over the case's area: pick a decision point, give a
reason, and the case goes back, its timeline saying who reset it and why."""

from __future__ import annotations

import asyncio
import re

from tests.web.support import HX, Web, login, new_case, post


async def _case_page_once(web: Web, ticket: str, text: str) -> str:
    for _ in range(200):  # the new run takes the reset's note on its next workflow task
        page = await web.http.get(f"/cases/{ticket}")
        if text in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"case {ticket} never showed {text!r}")


async def test_a_supervisor_resets_a_case_from_its_page(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    accepted = await post(web.http, f"/cases/{ticket}/actions/accept", {}, HX)
    assert 'data-testid="status">已签收<' in accepted.text
    assert 'data-testid="reset-link"' not in accepted.text  # a handler resets nothing
    assert (await web.http.get(f"/cases/{ticket}/reset")).status_code == 403

    await login(web.http, "supervisor_gl")
    case_page = await web.http.get(f"/cases/{ticket}")
    assert f'href="/cases/{ticket}/reset"' in case_page.text
    page = await web.http.get(f"/cases/{ticket}/reset")
    assert page.status_code == 200
    points = re.finditer(r'value="(\d+)"[^>]*data-testid="point-\d+">\s*(.*?)\s*<span', page.text)
    point = next((p for p in points if "撤销：签收" in p.group(2)), None)
    assert point is not None, page.text

    url = f"/cases/{ticket}/reset"
    blank = await post(web.http, url, {"event_id": point.group(1), "reason": ""}, HX)
    assert blank.status_code == 200 and "回退未完成：原因：必填" in blank.text
    done = await post(web.http, url, {"event_id": point.group(1), "reason": "误签收"}, HX)
    assert done.headers.get("HX-Redirect") == f"/cases/{ticket}"
    text = await _case_page_once(web, ticket, "误签收")
    assert 'data-testid="status">待签收<' in text and "回退" in text
