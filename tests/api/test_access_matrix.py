"""The access matrix: every demo user x every resource x where it lies, through the real API.

One world is built once for the module and each database (a real Temporal dev server, a
worker, SQLite and PostgreSQL):

- case A lies in a 宁海路 grid, is held by 宁海路街道 and handled; it holds a photo, a team of
  宁海路 is allocated to it, 宁海路 blew a whistle summoning 鼓楼公安分局, an override put a
  message in 宁海路's inbox, and a bulk override of 鼓楼's supervisor touched it;
- case B lies in a 玄武门 grid (the other district) and waits, dispatched to 玄武门街道;
- case C lies in a 华侨路 grid (another street of 鼓楼), held by 华侨路, recorded by 玄武's
  dispatcher (who sees it only because they took it).

`REACHES` is this module's own account of how each user stands to each case (the scope: own
unit, another street of the district, another district, the city). `SEE` is the table of
docs/access.md written out; `core.access.POLICY` must be it. What each user may then do is
generated from `SEE` and the workflow's action rules (`workflows.transitions.RULES`), and every
cell is asserted through the API, allowed and refused alike.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core import access
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import USERS
from core.models import InboxItem, Unit, WhistleRecord
from tests.conftest import (
    DB_BACKENDS,
    api_client,
    demo_database,
    make_settings,
    projected,
    running_worker,
    token_for,
)
from tests.web.support import login
from workflows.case.transitions import RULES
from workflows.contracts import Action, Role

R = access.Reach
CITY = {R.AREA, R.BELOW}  # every case lies in the city, every holder is under it
ROLES = {name: Role(role) for name, _, role, _ in USERS}
UNITS = {name: unit for name, _, _, unit in USERS}
CASES = ("A", "B", "C")
# user -> how they stand to (A, B, C); the comment names the scope.
REACHES: dict[str, tuple[set[access.Reach], ...]] = {
    # the city
    "operator1": ({*CITY, R.TAKEN}, {*CITY, R.TAKEN}, CITY),
    "dispatcher1": (CITY, CITY, CITY),
    "supervisor1": (CITY, CITY, CITY),
    "admin": (CITY, CITY, CITY),  # stands as the city does; the table gives admins nothing
    # 鼓楼区: A and C in its district, B in another
    "dispatcher_gl": (CITY, set(), CITY),
    "supervisor_gl": (CITY, set(), CITY),
    "verifier_gl": (CITY, set(), CITY),
    # 宁海路街道: A its own street (holder, whistle-blower); C another street of the district
    "handler_nhl": ({R.AREA, R.HOLDER, R.BELOW, R.BLOWER}, set(), set()),
    "grid_nhl": (set(), set(), set()),  # its grid is g1 of 宁海路第一社区; A lies in g2
    # 华侨路街道: C its own; A another street of the district
    "handler_hq": (set(), set(), {R.AREA, R.HOLDER, R.BELOW}),
    # 鼓楼's departments: police summoned to A; the others hold nothing here
    "handler_gl_police": ({R.SUMMONED}, set(), set()),
    "handler_gl_water": (set(), set(), set()),
    "handler_gl_urban": (set(), set(), set()),
    "handler_gl_construction": (set(), set(), set()),
    # 玄武区: B in its district; A and C in another; its dispatcher recorded C
    "dispatcher_xw": (set(), CITY, {R.TAKEN}),
    "supervisor_xw": (set(), CITY, set()),
    "verifier_xw": (set(), CITY, set()),
    "handler_xwm": (set(), {R.AREA, R.HOLDER, R.BELOW}, set()),
}
PEOPLE = sorted(REACHES)
# docs/access.md: staff see a case in their unit's area, held by their unit or one under it,
# whistled on by or to their unit, or recorded by them; admins and machines see none.
EVERY = set(access.Reach)
SEE: dict[Role, set[access.Reach]] = {
    Role.OPERATOR: EVERY,
    Role.DISPATCHER: EVERY,
    Role.HANDLER: EVERY,
    Role.VERIFIER: EVERY,
    Role.SUPERVISOR: EVERY,
    Role.GRID_WORKER: EVERY,
    Role.ADMIN: set(),
    Role.DEVICE: set(),
    Role.PUBLIC: set(),
}


def sees(user: str, case: str) -> bool:
    """From the table: the user's role opens a reach they have to the case."""
    return bool(REACHES[user][CASES.index(case)] & SEE[ROLES[user]])


def action_status(user: str, action: Action, case: str) -> int:
    """From the tables: 404 for a case the user may not see, else the workflow's rule."""
    if not sees(user, case):
        return 404
    rule, reach = RULES[action], REACHES[user][CASES.index(case)]
    needed = {"area": R.AREA, "assigned": R.HOLDER}.get(rule.scope)
    if ROLES[user] not in rule.roles or (needed is not None and needed not in reach):
        return 403
    return 200


async def test_the_policy_is_the_documented_table() -> None:
    assert {role: set(row.see) for role, row in access.POLICY.items()} == SEE


async def test_the_account_covers_every_demo_user_and_role() -> None:
    assert set(REACHES) == {name for name, *_ in USERS}
    assert {ROLES[u] for u in PEOPLE} == set(Role) - {Role.PUBLIC, Role.DEVICE}
    # Both answers of every resource occur: the matrix could fail either way.
    for case in CASES:
        assert {sees(u, case) for u in PEOPLE} == {True, False}


@dataclass
class World:
    http: httpx.AsyncClient
    sessions: SessionFactory
    headers: dict[str, dict[str, str]]
    tickets: dict[str, str] = field(default_factory=dict)
    case_ids: dict[str, str] = field(default_factory=dict)
    photo: str = ""  # held by A
    loose: str = ""  # uploaded by handler_xwm, attached to nothing
    whistle: str = ""  # the police's whistle on A
    allocation: int = 0
    team: int = 0
    bulk: str = ""

    async def call(self, user: str, method: str, url: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, f"/api/v1{url}", headers=self.headers[user], **kw)


def jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


async def ok(response: Awaitable[httpx.Response], status: int = 200) -> Any:
    got = await response
    assert got.status_code == status, got.text
    return got.json()


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=DB_BACKENDS)
async def world(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    with demo_database(request.param, tmp_path_factory.mktemp("matrix")) as url:
        engine = make_engine(url)
        sessions = session_factory(engine)
        task_queue = f"tq-{uuid.uuid4().hex[:12]}"
        settings = make_settings(url, dev_env.client, task_queue)
        async with (
            running_worker(dev_env.client, task_queue, sessions),
            api_client(settings, dev_env.client) as http,
        ):
            headers = {u: token_for(sessions, u) for u in PEOPLE}
            w = World(http, sessions, headers)
            await _build(w)
            yield w
        engine.dispose()


async def _open(w: World, name: str, user: str, grid: str, **extra: Any) -> dict[str, Any]:
    body = {"title": f"暴露垃圾 {name}", "category": "exposed_garbage", "location_unit_id": grid}
    case = await ok(w.call(user, "POST", "/cases", json={**body, **extra}), 201)
    w.tickets[name], w.case_ids[name] = case["ticket"], case["case_id"]
    return case


async def _build(w: World) -> None:
    """The world of the module docstring, each part projected before the matrix reads it."""
    upload = {"file": ("a.jpg", jpeg("green"), "image/jpeg")}
    w.photo = (await ok(w.call("operator1", "POST", "/attachments", files=upload), 201))["sha256"]
    loose = {"file": ("x.jpg", jpeg("blue"), "image/jpeg")}
    w.loose = (await ok(w.call("handler_xwm", "POST", "/attachments", files=loose), 201))["sha256"]
    await _open(w, "A", "operator1", "gl-nhl-c1-g2", attachments=[w.photo])
    await _open(w, "B", "operator1", "xw-xwm-c1-g1")
    await _open(w, "C", "dispatcher_xw", "gl-hq-c1-g1")
    a = w.tickets["A"]
    await ok(w.call("handler_nhl", "POST", f"/cases/{a}/actions/accept", json={}))
    blown = {"kind": "work_push", "departments": ["gl-dept-police"], "need": "占道，请公安到场"}
    state = await ok(w.call("handler_nhl", "POST", f"/cases/{a}/whistles", json=blown))
    w.whistle = state["whistles"][0]["members"][0]["whistle_id"]
    teams = await ok(w.call("handler_nhl", "GET", "/directory/teams", params={"unit": "gl-nhl"}))
    w.team = teams[0]["id"]
    body = {"team_id": w.team, "reason": "清运"}
    [made] = await ok(w.call("handler_nhl", "POST", f"/cases/{a}/allocations", json=body), 201)
    w.allocation = made["id"]
    override = {"priority": "urgent", "reason": "临近学校"}
    await ok(w.call("supervisor_gl", "POST", f"/cases/{a}/actions/change_priority", json=override))
    w.bulk = await _bulk(w)
    await _settle(w)


async def _settle(w: World) -> None:
    """Wait for the projection: every case at its last event, the whistle's row written."""
    for name in CASES:
        live = await ok(w.call("supervisor1", "GET", f"/cases/{w.tickets[name]}"))
        await projected(w.sessions, w.case_ids[name], live["case"]["last_seq"])
    for _ in range(200):
        with session_scope(w.sessions) as session:
            if session.get(WhistleRecord, w.whistle) is not None:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the whistle's row was never written")


async def _bulk(w: World) -> str:
    filters = {"district": "gl", "category": "exposed_garbage"}
    preview = await ok(w.call("supervisor_gl", "POST", "/overrides/preview", json=filters))
    assert preview["count"] == 2  # A and C
    body = {"hours": 2, "reason": "暴雨"}
    req = {"filters": filters, "action": "extend_deadline", "body": body, "expected": 2}
    bulk = str((await ok(w.call("supervisor_gl", "POST", "/overrides", json=req), 202))["id"])
    for _ in range(200):  # done, so no message it sends lands while the matrix reads
        if (await ok(w.call("supervisor_gl", "GET", f"/overrides/{bulk}")))["done"]:
            return bulk
        await asyncio.sleep(0.05)
    raise AssertionError("the bulk override never finished")


Check = Callable[[World, str], Awaitable[list[str]]]


async def each_user(w: World, check: Check) -> None:
    """Run `check` for every user and report every wrong cell at once."""
    wrong: list[str] = []
    for user in PEOPLE:
        wrong += [f"{user}: {m}" for m in await check(w, user)]
    assert not wrong, "\n".join(wrong)


def cell(what: str, got: int, expected: int) -> list[str]:
    return [] if got == expected else [f"{what}: {got}, expected {expected}"]


# ---- reads -----------------------------------------------------------------------------------
async def test_one_case_with_its_timeline(world: World) -> None:
    async def check(w: World, user: str) -> list[str]:
        out = []
        for name in CASES:
            got = await w.call(user, "GET", f"/cases/{w.tickets[name]}")
            out += cell(f"case {name}", got.status_code, 200 if sees(user, name) else 404)
            if got.status_code == 200:
                body = got.json()
                assert body["timeline"] and body["case"]["ticket"] == w.tickets[name]
            else:
                assert w.tickets[name] in got.json()["detail"]  # as for no case at all
        return out

    await each_user(world, check)


async def test_case_list_membership(world: World) -> None:
    async def check(w: World, user: str) -> list[str]:
        listed = await ok(w.call(user, "GET", "/cases", params={"size": 200}))
        found = {c["ticket"] for c in listed["items"]}
        expected = {w.tickets[n] for n in CASES if sees(user, n)}
        assert listed["total"] == len(found)
        return [] if found == expected else [f"list {sorted(found)}, expected {sorted(expected)}"]

    await each_user(world, check)


async def test_attachments_and_thumbnails(world: World) -> None:
    async def check(w: World, user: str) -> list[str]:
        out = []
        for suffix in ("", "/thumbnail"):
            got = await w.call(user, "GET", f"/attachments/{w.photo}{suffix}")
            out += cell(f"A's photo{suffix}", got.status_code, 200 if sees(user, "A") else 404)
            loose = await w.call(user, "GET", f"/attachments/{w.loose}{suffix}")
            mine = 200 if user == "handler_xwm" else 404  # not attached: its uploader's only
            out += cell(f"loose upload{suffix}", loose.status_code, mine)
        return out

    await each_user(world, check)


async def test_whistle_and_boards(world: World) -> None:
    gl_nhl = "/nj/gl/gl-nhl/"

    async def check(w: World, user: str) -> list[str]:
        got = await w.call(user, "GET", f"/whistles/{w.whistle}")
        out = cell("whistle", got.status_code, 200 if sees(user, "A") else 404)
        board = await w.call(user, "GET", "/whistles", params={"unit": "gl-nhl"})
        over = f"/{UNITS[user]}/" in gl_nhl  # 宁海路's board: itself and the units above it
        out += cell("宁海路's board", board.status_code, 200 if over else 403)
        if board.status_code == 200:
            shown = any(r["id"] == w.whistle for r in board.json())
            out += cell("whistle on the board", int(shown), int(sees(user, "A")))
        return out

    await each_user(world, check)


async def test_allocations(world: World) -> None:
    a = world.tickets["A"]

    async def check(w: World, user: str) -> list[str]:
        got = await w.call(user, "GET", f"/cases/{a}/allocations")
        out = cell("A's allocations", got.status_code, 200 if sees(user, "A") else 404)
        busy = await ok(w.call(user, "GET", "/directory/busy"))
        shown = any(b["id"] == w.allocation for b in busy)
        out += cell("on the busy list", int(shown), int(sees(user, "A")))
        teams = await ok(w.call(user, "GET", "/directory/teams", params={"unit": "gl-nhl"}))
        team = next(t for t in teams if t["id"] == w.team)
        assert team["busy"]  # busy for everyone; which case, only for who may see it
        out += cell("team's case named", int(team["busy_ticket"] == a), int(sees(user, "A")))
        return out

    await each_user(world, check)


async def test_inbox_items(world: World) -> None:
    with session_scope(world.sessions) as session:
        items = list(session.exec(select(InboxItem)))
    assert any(i.unit_id == "gl-nhl" and i.ticket == world.tickets["A"] for i in items)
    for_nhl = next(i.id for i in items if i.unit_id == "gl-nhl")

    async def check(w: World, user: str) -> list[str]:
        staff = SEE[ROLES[user]]
        expected = {i.id or 0 for i in items if staff and i.unit_id == UNITS[user]}
        got = {i["id"] for i in await ok(w.call(user, "GET", "/inbox"))}
        out = [] if got == expected else [f"inbox {sorted(got)}, expected {sorted(expected)}"]
        if user != "handler_nhl":  # the one reader of 宁海路's message marks it read last
            read = await w.call(user, "POST", f"/inbox/{for_nhl}/read")
            out += cell("mark 宁海路's message read", read.status_code, 404)
        return out

    await each_user(world, check)
    mine = await world.call("handler_nhl", "POST", f"/inbox/{for_nhl}/read")
    assert mine.status_code == 200 and mine.json()["read_by"] == "handler_nhl"


async def test_bulk_job_progress(world: World) -> None:
    with session_scope(world.sessions) as session:
        creator = session.get(Unit, "gl")
    assert creator is not None

    async def check(w: World, user: str) -> list[str]:
        got = await w.call(user, "GET", f"/overrides/{w.bulk}")
        if ROLES[user] is not Role.SUPERVISOR:
            return cell("bulk progress", got.status_code, 403)  # bulk overrides: supervisors
        over = f"/{UNITS[user]}/" in creator.path  # its creator's area: 鼓楼 and the city
        return cell("bulk progress", got.status_code, 200 if over else 404)

    await each_user(world, check)


# ---- actions ---------------------------------------------------------------------------------
ACTIONS: list[tuple[Action, str, dict[str, Any]]] = [
    (Action.PROGRESS, "A", {"note": "已清运一半"}),  # the holder's handlers
    (Action.CHANGE_PRIORITY, "A", {"priority": "urgent", "reason": "复核"}),  # supervisors, area
    (Action.DISPATCH, "B", {"unit_id": "xw-xwm"}),  # the centre over the area, again
]


async def test_actions(world: World) -> None:
    async def check(w: World, user: str) -> list[str]:
        out = []
        for action, case, body in ACTIONS:
            url = f"/cases/{w.tickets[case]}/actions/{action.value}"
            got = await w.call(user, "POST", url, json=body)
            out += cell(
                f"{action.value} on {case}", got.status_code, action_status(user, action, case)
            )
        return out

    await each_user(world, check)


# ---- targets: checked before any Update is sent ----------------------------------------------
async def test_dispatch_and_reassign_targets(world: World) -> None:
    b, a = world.tickets["B"], world.tickets["A"]
    for user, unit, status in [
        ("dispatcher_xw", "gl-dept-water", 403),  # another district's department
        ("dispatcher_xw", "nj", 403),  # the city
        ("dispatcher_xw", "nj-dept-water", 403),  # a city department
        ("dispatcher_xw", "xw-dept-water", 200),  # its own district's department
        ("dispatcher1", "gl-dept-water", 200),  # the city sends anywhere
        ("dispatcher_xw", "xw-xwm", 200),  # B lies in 玄武: its dispatcher takes it back
    ]:
        got = await world.call(user, "POST", f"/cases/{b}/actions/dispatch", json={"unit_id": unit})
        assert got.status_code == status, (user, unit, got.text)
        if status == 403:
            assert got.json()["field"] == "unit_id"
    refused = await world.call(
        "supervisor_gl",
        "POST",
        f"/cases/{a}/actions/reassign",
        json={"unit_id": "xw-xwm", "reason": "试试"},
    )
    assert (refused.status_code, refused.json()["field"]) == (403, "unit_id")
    assert "outside the district" in refused.json()["detail"]


async def test_whistle_and_bulk_targets(world: World) -> None:
    a = world.tickets["A"]
    across = {"kind": "work_push", "departments": ["xw-dept-police"], "need": "请玄武公安"}
    got = await world.call("handler_nhl", "POST", f"/cases/{a}/whistles", json=across)
    # Refused for its target before the case is asked (which would answer 409: one is open).
    assert (got.status_code, got.json()["field"]) == (403, "departments")
    filters = {"district": "gl", "category": "exposed_garbage"}
    body = {"unit_id": "xw-xwm", "reason": "调整"}
    req = {"filters": filters, "action": "reassign", "body": body, "expected": 2}
    bulk = await world.call("supervisor_gl", "POST", "/overrides", json=req)
    assert (bulk.status_code, bulk.json()["field"]) == (403, "unit_id")


async def test_merge_into_stays_within_the_district(world: World) -> None:
    report = {"title": "又见垃圾", "category": "exposed_garbage", "duplicates": "new"}
    across = {**report, "location_unit_id": "gl-nhl-c1-g1", "merge_into": world.tickets["B"]}
    got = await world.call("operator1", "POST", "/reports", json=across)
    assert (got.status_code, got.json()["field"]) == (422, "merge_into")
    unseen = {**across, "channel": "patrol"}
    hidden = await world.call("grid_nhl", "POST", "/reports", json=unseen)
    assert hidden.status_code == 404  # a case the grid worker may not see: as if none
    within = {**report, "location_unit_id": "gl-hq-c1-g1", "merge_into": world.tickets["A"]}
    merged = await ok(world.call("operator1", "POST", "/reports", json=within), 201)
    assert merged["merged"] and merged["case_ticket"] == world.tickets["A"]


# ---- the web UI ------------------------------------------------------------------------------
async def test_web_pages_hide_what_the_user_may_not_see(world: World) -> None:
    a, http = world.tickets["A"], world.http
    await login(http, "handler_xwm")
    page = await http.get(f"/cases/{a}")
    assert page.status_code == 404 and "没有这个工单" in page.text and "暴露垃圾 A" not in page.text
    queue = await http.get("/")
    assert queue.status_code == 200 and a not in queue.text and world.tickets["B"] in queue.text
    for url in (f"/files/{world.photo}", f"/files/{world.photo}/thumb", f"/cases/{a}/resources"):
        assert (await http.get(url)).status_code == 404, url
    assert (await http.get(f"/whistles/{world.whistle}")).status_code == 404
    await login(http, "handler_nhl")
    assert (await http.get(f"/cases/{a}")).status_code == 200
    assert (await http.get(f"/files/{world.photo}")).status_code == 200
