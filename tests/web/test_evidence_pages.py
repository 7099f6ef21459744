"""Photo evidence in the handling steps: uploaded, referenced by sha256, shown before/after."""

from __future__ import annotations

import re

from tests.web.support import HX, Web, csrf, login, new_case, post
from tests.web.test_attachment_pages import SHA_INPUT, png


async def uploaded(web: Web, *shades: int) -> list[str]:
    """Upload photos as the logged-in user; their sha256 names."""
    files = [("file", (f"现场{n}.png", png(n), "image/png")) for n in shades]
    response = await web.http.post(
        "/attachments", files=files, data={"csrf_token": await csrf(web.http)}, headers=HX
    )
    assert response.status_code == 200, response.text
    return SHA_INPUT.findall(response.text)


async def act(web: Web, ticket: str, action: str, fields: list[tuple[str, str]]) -> str:
    data: dict[str, list[str]] = {"csrf_token": [await csrf(web.http)]}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    response = await web.http.post(f"/cases/{ticket}/actions/{action}", data=data, headers=HX)
    assert response.status_code == 200, response.text
    return response.text


async def test_handling_photos_show_beside_the_reports_for_the_verifier(web: Web) -> None:
    await login(web.http, "operator1")
    [report] = await uploaded(web, 1)
    response = await post(web.http, "/cases", {"attachments": report, **_garbage()})
    ticket = response.headers["location"].rsplit("/", 1)[-1]
    await login(web.http, "handler_nhl")
    page = await act(web, ticket, "accept", [])
    assert 'accept="image/*,video/*" capture="environment" multiple' in page
    assert 'id="add_progress-photo-upload"' in page and 'id="submit_feedback-photo-upload"' in page
    progress = await uploaded(web, 2)
    await act(web, ticket, "add_progress", [("note", "已到场"), ("attachments", progress[0])])
    after = await uploaded(web, 3, 4)
    shown = await act(
        web, ticket, "submit_feedback", [("note", "已清运"), *[("attachments", s) for s in after]]
    )
    assert "附件文件名" not in shown and 'data-testid="before-after"' in shown

    await login(web.http, "verifier_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    before_html, after_html = page.split('data-testid="before"', 1)[1].split('data-testid="after"')
    assert report in before_html and progress[0] not in before_html
    assert all(s in after_html.split("</section>")[0] for s in [*progress, *after])
    for sha in [report, *after]:
        assert (await web.http.get(f"/files/{sha}/thumb")).status_code == 200


async def test_a_step_may_not_name_a_file_the_user_may_not_see(web: Web) -> None:
    await login(web.http, "grid_nhl")
    [foreign] = await uploaded(web, 9)  # another user's upload, attached to nothing
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    await act(web, ticket, "accept", [])
    refused = await act(
        web, ticket, "submit_feedback", [("note", "已清运"), ("attachments", foreign)]
    )
    assert 'data-testid="action-error"' in refused
    assert re.search(r"upload it first|请先上传|附件", refused), refused


def _garbage() -> dict[str, str]:
    from tests.web.support import GARBAGE

    return dict(GARBAGE)
