"""The citizen's form takes an e-mail address for being told: kept under the report's ticket,
and the tracking notification it calls for is decided with the report's first event."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import func, select

from core.db import session_scope
from core.models import Notification, ReporterContact
from tests.conftest import projected
from tests.web.support import HX, Web
from tests.web.test_public_pages import attachment_dir, report, ticket_of, tracking_link, web

__all__ = ["attachment_dir", "web"]  # the fixtures
EMAIL = "li.xiuying@example.cn"


async def test_an_e_mail_left_on_the_form_is_kept_and_told_the_tracking_link(web: Web) -> None:
    page = await report(web.http, reporter_email=EMAIL)
    assert page.status_code == 200, page.text
    ticket = ticket_of(page)
    await projected(web.sessions, f"case-{ticket}", 1)
    with session_scope(web.sessions) as session:
        contact = session.get(ReporterContact, ticket)
        told = session.exec(select(Notification)).all()
    assert contact is not None and contact.email == EMAIL
    assert [(n.recipient, n.channel, n.kind, n.address) for n in told] == [
        (f"report:{ticket}", "email", "tracking", EMAIL)
    ]
    assert urlsplit(tracking_link(page)).path == f"/track/{ticket}"


async def test_a_mistyped_e_mail_is_refused_in_chinese_next_to_its_field(web: Web) -> None:
    page = await report(web.http, reporter_email="li.xiuying@")
    assert page.status_code == 422
    assert "请填写正确的电子邮箱" in page.text and 'value="li.xiuying@"' in page.text
    inline = await report(web.http, headers=HX, reporter_email="li.xiuying@")
    assert inline.status_code == 200 and "电子邮箱：请填写正确的电子邮箱" in inline.text
    with session_scope(web.sessions) as session:
        assert session.exec(select(func.count()).select_from(ReporterContact)).one() == 0
