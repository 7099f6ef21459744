"""The case page: the next step first, stale pages that act on nothing, the dispatch picker,
confirmations, and call/navigate links, over the real app, worker and database."""

from __future__ import annotations

import re

from temporalio.testing import WorkflowEnvironment

from core.intake.geo import boundaries
from tests.conftest import make_settings, projected
from tests.web.support import HX, Web, login, new_case, post


def _version(page: str, action: str) -> str:
    form = page[page.index(f'data-testid="action-{action}"') :]
    found = re.search(r'name="expected_version" value="(\d+)"', form)
    assert found, form[:500]
    return found.group(1)


async def test_a_stale_page_acts_on_nothing_and_shows_the_fresh_case(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    seen = (await web.http.get(f"/cases/{ticket}")).text
    old = _version(seen, "accept")
    url = f"/cases/{ticket}/actions"

    fresh = await post(web.http, f"{url}/accept", {"expected_version": old}, HX)
    assert 'data-testid="status">已签收<' in fresh.text
    # The same old page's next form: refused, the typed note kept, nothing recorded twice.
    note = {"note": "已到场，正在清运", "expected_version": old}
    stale = await post(web.http, f"{url}/add_progress", note, HX)
    assert 'data-testid="stale"' in stale.text and "工单已更新，请查看最新状态" in stale.text
    assert 'data-testid="status">已签收<' in stale.text
    assert "已到场，正在清运</textarea>" in stale.text
    assert 'data-testid="action-error"' not in stale.text
    assert stale.text.count('data-action="add_progress"') == 0
    now = _version(stale.text, "add_progress")
    assert int(now) == int(old) + 1

    done = await post(web.http, f"{url}/add_progress", {**note, "expected_version": now}, HX)
    assert 'data-testid="status">处置中<' in done.text and 'data-testid="stale"' not in done.text


async def test_the_next_step_leads_the_page(
    web: Web, dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    settings = make_settings(sqlite_db, dev_env.client, task_queue)
    found = boundaries(settings.boundaries_file).representative_point("gl-nhl-c1-g1")
    assert found is not None
    lat, lon = f"{found[0]:.6f}", f"{found[1]:.6f}"
    await login(web.http, "operator1")
    ticket = await new_case(web.http, lat=lat, lon=lon)
    await projected(web.sessions, f"case-{ticket}", 3)  # the read model holds the phone whole
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert 'data-testid="call-reporter"' in page and 'href="tel:13800000000"' in page  # the taker

    await login(web.http, "handler_nhl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    bar = page[page.index('data-testid="action-bar"') : page.index('class="card case-head"')]
    assert 'data-testid="action-accept"' in bar and ">签收</button>" in bar
    assert page.index('data-testid="action-bar"') < page.index('id="timeline-title"')
    assert 'data-testid="call-reporter"' not in page  # masked: nobody to call from here
    assert f'href="geo:{lat},{lon}?q={lat},{lon}" data-testid="navigate">导航<' in page

    accepted = await post(web.http, f"/cases/{ticket}/actions/accept", {}, HX)
    bar = accepted.text[accepted.text.index('data-testid="action-bar"') :]
    assert re.search(r'href="#action-add_progress" data-testid="bar-add_progress">提交进展<', bar)
    assert 'href="#action-submit_feedback" data-testid="bar-submit_feedback">提交反馈<' in bar
    assert re.search(
        r'<button type="submit" class="primary" data-confirm="提交反馈：[^"]+">提交反馈<',
        accepted.text,
    )
    assert re.search(r'<details class="panel" data-testid="resources-fold">', accepted.text)


async def test_the_dispatch_picker_starts_on_the_routed_unit_by_name(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "dispatcher_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    form = page[page.index('data-testid="action-dispatch"') :]
    form = form[: form.index("</form>")]
    assert '<option value="gl-nhl" selected>宁海路街道</option>' in form
    assert "gl-dept-water" not in form.replace('value="gl-dept-water"', "")  # names, not codes
    sent = await post(
        web.http, f"/cases/{ticket}/actions/dispatch", {"unit_other": "华侨路街道"}, HX
    )
    assert 'data-testid="assigned-unit">华侨路街道<' in sent.text

    await login(web.http, "handler_hq")
    returned = await post(
        web.http, f"/cases/{ticket}/actions/return_case", {"reason": "不属于本街道"}, HX
    )
    assert 'data-testid="status">被退回<' in returned.text
    await login(web.http, "dispatcher_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    form = page[page.index('data-testid="action-dispatch"') :]
    form = form[: form.index("</form>")]
    # The unit that sent it back is not offered first: routing's street is.
    assert '<option value="gl-nhl" selected>宁海路街道</option>' in form


async def test_irreversible_overrides_ask_first(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "supervisor_gl")
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert re.search(r'class="danger" data-confirm="强制结案：[^"]+">强制结案<', page)
    assert re.search(r'class="danger" data-confirm="无效工单：[^"]+">无效工单<', page)
