"""Work queues per role: tabs with SQL counts, search (ticket, phone, address, text), paging,
access scope and the countdown of each row, over the real app, worker and database (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.cases import queues
from core.db import session_scope
from core.models import CaseRecord, User
from tests.web.support import HX, Web, login, new_case, post, queue_row


@pytest.fixture
def web_db_url(db_url: str) -> str:
    """On SQLite and PostgreSQL: the queues' SQL (sums of CASE, ILIKE, replace) runs on both."""
    return db_url


def _counts(page: str) -> dict[str, int]:
    found = re.findall(r'data-testid="tab-(\w+)".*?data-testid="tab-count">(\d+)<', page, re.S)
    return {tab: int(n) for tab, n in found}


def _tickets(page: str) -> set[str]:
    return set(re.findall(r'<tr data-testid="case-row".*?href="/cases/([^"]+)"', page, re.S))


def _user(web: Web, username: str) -> User:
    with session_scope(web.sessions) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        session.expunge(user)
        return user


def _set_due(web: Web, ticket: str, due: datetime) -> None:
    with session_scope(web.sessions) as session:
        row = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).one()
        row.due_at = due
        session.add(row)


async def test_a_handler_works_tabs_whose_counts_follow_the_case(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    page = await queue_row(web.http, ticket)
    assert _counts(page) == {"to_accept": 1, "handling": 0, "rework": 0, "open": 1}
    assert 'data-testid="tab-to_accept" aria-current="page"' in page
    assert ticket in _tickets(page) and "共 1 件" in page

    await post(web.http, f"/cases/{ticket}/actions/accept", {}, HX)
    for _ in range(100):  # the read model follows the workflow asynchronously
        page = (await web.http.get("/?tab=handling")).text
        if ticket in _tickets(page):
            break
    assert _counts(page) == {"to_accept": 0, "handling": 1, "rework": 0, "open": 1}
    assert 'data-testid="status">已签收<' in page

    await login(web.http, "handler_hq")  # another street: nothing of it, not even a count
    other = (await web.http.get("/")).text
    assert ticket not in other and set(_counts(other).values()) == {0}


async def test_search_finds_by_ticket_whole_phone_address_and_text(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http, reporter_phone="+86 139-1234-5678", address="北京西路 7 号")
    other = await new_case(web.http, title="草场门大街井盖缺失", reporter_phone="13800000000")
    await login(web.http, "dispatcher_gl")
    await queue_row(web.http, other)

    async def search(q: str) -> set[str]:
        page = await web.http.get("/", params={"tab": "open", "q": q})
        return _tickets(page.text) & {ticket, other}

    assert await search(ticket) == {ticket}
    assert await search(ticket.lower()) == {ticket}
    assert await search("13912345678") == {ticket}  # the stored "+86 139-1234-5678", normalized
    assert await search("139 1234 5678") == {ticket}
    assert await search("1391234") == set()  # a part of a number never matches: no probing
    assert await search("北京西路") == {ticket}
    assert await search("井盖缺失") == {other}
    assert await search("无此内容") == set()

    fragment = await web.http.get(
        "/", params={"tab": "open", "q": ticket}, headers={**HX, "HX-Target": "queue-list"}
    )
    assert fragment.text.lstrip().startswith('<div id="queue-list"')
    huge = await web.http.get("/", params={"page": "9" * 5000, "tab": "open"})  # no 500
    assert huge.status_code == 200 and "共 " in huge.text
    assert 'data-testid="queue-search"' not in fragment.text  # the typed search is left alone


async def test_paging_and_counts_come_from_sql(web: Web) -> None:
    await login(web.http, "operator1")
    tickets = [await new_case(web.http, title=f"宁海路垃圾 {i}") for i in range(3)]
    await login(web.http, "dispatcher_gl")
    await queue_row(web.http, tickets[-1])
    user = _user(web, "dispatcher_gl")

    query = queues.QueueQuery(tab=queues.Tab.OPEN, q="宁海路垃圾")
    first = queues.queue_page(web.sessions, user, query, size=2)
    second = queues.queue_page(web.sessions, user, replace(query, page=2), size=2)
    assert (first.total, first.pages, len(first.items)) == (3, 2, 2)
    assert (second.page, len(second.items)) == (2, 1)
    assert {c.ticket for c in first.items + second.items} == set(tickets)
    late = queues.queue_page(web.sessions, user, replace(query, page=9), size=2)
    assert late.page == 2  # past the end: the last page


async def test_supervisor_tabs_and_countdowns(web: Web) -> None:
    await login(web.http, "operator1")
    soon, late = await new_case(web.http), await new_case(web.http)
    await login(web.http, "supervisor_gl")
    await queue_row(web.http, late)
    now = datetime.now(UTC)
    _set_due(web, soon, now + timedelta(minutes=90, seconds=30))
    _set_due(web, late, now - timedelta(hours=3, seconds=30))

    due_soon = (await web.http.get("/?tab=due_soon")).text
    assert soon in _tickets(due_soon) and late not in _tickets(due_soon)
    assert re.search(r'class="countdown soon" data-testid="countdown">剩 1 小时 30 分<', due_soon)
    overdue = (await web.http.get("/?tab=overdue")).text
    assert late in _tickets(overdue) and soon not in _tickets(overdue)
    assert re.search(r'class="countdown late" data-testid="countdown">超期 3 小时<', overdue)
    counts = _counts(overdue)
    assert counts["overdue"] >= 1 and counts["due_soon"] >= 1
    assert list(counts) == ["overdue", "due_soon", "escalated", "parked", "open"]


async def test_each_role_has_its_tabs(web: Web) -> None:
    expected = {
        "dispatcher_gl": ["to_register", "to_dispatch", "returned", "open"],
        "verifier_gl": ["to_verify", "open"],
        "operator1": ["to_callback", "mine", "open"],
        "grid_nhl": ["reported", "open"],
    }
    for username, tabs in expected.items():
        await login(web.http, username)
        assert list(_counts((await web.http.get("/")).text)) == tabs, username
