"""Demo data for Nanjing: the five-level tree, departments, users and the category catalog.

Every row is marked `is_demo`. Seeding is idempotent: rows are merged by key, and an existing
user keeps the password it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, select
from temporalio.client import Client

from core.config import Settings, get_settings
from core.db import SessionFactory, make_engine, migrate, session_factory, session_scope
from core.demo.directory import seed_demo_directory
from core.intake.devices import unusable_token_hash
from core.intake.geo import boundaries
from core.models import Category, Device, Unit, User
from core.security.tokens import hash_password
from workflows import registry

DEMO_PASSWORD = "demo1234"
CITY = ("nj", "南京市")

# (id, name, [(street id, street name)]) — a few real streets per district.
DISTRICTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("xw", "玄武区", [("xw-xwm", "玄武门街道"), ("xw-myxc", "梅园新村街道")]),
    ("qh", "秦淮区", [("qh-fzm", "夫子庙街道"), ("qh-wlc", "五老村街道")]),
    ("jy", "建邺区", [("jy-ny", "南苑街道"), ("jy-sz", "沙洲街道")]),
    (
        "gl",
        "鼓楼区",
        [
            ("gl-nhl", "宁海路街道"),
            ("gl-hq", "华侨路街道"),
            ("gl-hnl", "湖南路街道"),
            ("gl-zym", "中央门街道"),
        ],
    ),
    ("pk", "浦口区", [("pk-jp", "江浦街道"), ("pk-ql", "桥林街道")]),
    ("qx", "栖霞区", [("qx-yh", "尧化街道"), ("qx-xl", "仙林街道")]),
    ("yht", "雨花台区", [("yht-yh", "雨花街道"), ("yht-shq", "赛虹桥街道")]),
    ("jn", "江宁区", [("jn-ds", "东山街道"), ("jn-ml", "秣陵街道")]),
    ("lh", "六合区", [("lh-xz", "雄州街道"), ("lh-lc", "龙池街道")]),
    ("ls", "溧水区", [("ls-yy", "永阳街道"), ("ls-zt", "柘塘街道")]),
    ("gc", "高淳区", [("gc-cx", "淳溪街道"), ("gc-gb", "古柏街道")]),
    ("jb", "江北新区", [("jb-ts", "泰山街道"), ("jb-yj", "沿江街道")]),
]

# Article 5 departments: (dept_type, city bureau name, district bureau suffix).
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("dev", "南京市发展和改革委员会", "发展和改革局"),
    ("industry", "南京市工业和信息化局", "工业和信息化局"),
    ("police", "南京市公安局", "公安分局"),
    ("finance", "南京市财政局", "财政局"),
    ("planning", "南京市规划和自然资源局", "规划和自然资源分局"),
    ("eco", "南京市生态环境局", "生态环境局"),
    ("construction", "南京市城乡建设委员会", "建设局"),
    ("housing", "南京市住房保障和房产局", "住房保障和房产局"),
    ("transport", "南京市交通运输局", "交通运输局"),
    ("water", "南京市水务局", "水务局"),
    ("urban", "南京市城市管理局", "城市管理局"),
    ("green", "南京市绿化园林局", "绿化园林局"),
    ("health", "南京市卫生健康委员会", "卫生健康委员会"),
    ("emergency", "南京市应急管理局", "应急管理局"),
    ("market", "南京市市场监督管理局", "市场监督管理局"),
]


def _limits(handle: str, *, accept: str = "1d", verify: str = "1h") -> dict[str, str]:
    return {
        "dispatch": "30m",
        "dispatch_urgent": "10m",
        "accept": accept,
        "handle": handle,
        "verify": verify,
        "callback": "1d",
    }


# (key, name, kind, group, working_time, limits, owner dept_type, keywords)
CATEGORIES: list[tuple[str, str, str, str, bool, dict[str, str], str, str]] = [
    (
        "manhole_cover",
        "井盖缺失/破损",
        "component",
        "公用设施",
        True,
        _limits("2h", accept="1h"),
        "water",
        "井盖,窨井",
    ),
    (
        "streetlight",
        "路灯不亮",
        "component",
        "公用设施",
        True,
        _limits("3d"),
        "urban",
        "路灯,灯不亮",
    ),
    (
        "trash_bin",
        "垃圾箱破损",
        "component",
        "市容环境",
        True,
        _limits("2d"),
        "urban",
        "垃圾箱,垃圾桶",
    ),
    (
        "road_sign",
        "交通标志损坏",
        "component",
        "道路交通",
        True,
        _limits("3d"),
        "transport",
        "标志,标牌",
    ),
    ("street_tree", "行道树倒伏", "component", "园林绿化", True, _limits("1d"), "green", "树,倒伏"),
    (
        "house_facility",
        "房屋附属设施损坏",
        "component",
        "房屋土地",
        True,
        _limits("5d"),
        "housing",
        "房屋,外墙",
    ),
    ("exposed_garbage", "暴露垃圾", "event", "市容环境", True, _limits("1d"), "urban", "垃圾,堆放"),
    (
        "illegal_ad",
        "违规张贴小广告",
        "event",
        "宣传广告",
        True,
        _limits("3d"),
        "urban",
        "广告,张贴",
    ),
    (
        "construction_noise",
        "施工噪音扰民",
        "event",
        "施工管理",
        True,
        _limits("3d"),
        "eco",
        "噪音,施工",
    ),
    (
        "illegal_building",
        "违法建设",
        "event",
        "施工管理",
        True,
        _limits("20d"),
        "urban",
        "违建,搭建",
    ),
    (
        "illegal_parking",
        "违章停车",
        "event",
        "街面秩序",
        True,
        _limits("1d"),
        "police",
        "停车,占道",
    ),
    (
        "road_damage",
        "道路破损",
        "event",
        "街面秩序",
        True,
        _limits("5d"),
        "construction",
        "路面,坑洼",
    ),
    (
        "waterlogging",
        "道路积水",
        "event",
        "突发事件",
        False,
        _limits("2h", accept="30m"),
        "water",
        "积水,内涝",
    ),
    (
        "hotline_emergency",
        "紧急诉求",
        "hotline",
        "求助",
        False,
        _limits("2h", accept="30m"),
        "",
        "紧急",
    ),
    (
        "hotline_utilities",
        "水电气暖",
        "hotline",
        "求助",
        False,
        _limits("24h", accept="2h"),
        "water",
        "停水,停电,燃气,供暖",
    ),
    ("hotline_general", "一般诉求", "hotline", "投诉", False, _limits("7d"), "", ""),
    ("hotline_complex", "复杂诉求", "hotline", "投诉", False, _limits("15d"), "", ""),
]

# (username, display name, role, unit id)
USERS: list[tuple[str, str, str, str]] = [
    ("operator1", "王话务员", "operator", "nj"),
    ("dispatcher1", "市城运中心派遣员", "dispatcher", "nj"),
    ("dispatcher_gl", "鼓楼区派遣员", "dispatcher", "gl"),
    ("handler_nhl", "宁海路街道处置员", "handler", "gl-nhl"),
    ("handler_hq", "华侨路街道处置员", "handler", "gl-hq"),
    ("handler_gl_water", "鼓楼区水务局处置员", "handler", "gl-dept-water"),
    ("handler_gl_urban", "鼓楼区城管局处置员", "handler", "gl-dept-urban"),
    ("handler_gl_police", "鼓楼公安分局处置员", "handler", "gl-dept-police"),
    ("handler_gl_construction", "鼓楼区建设局处置员", "handler", "gl-dept-construction"),
    ("verifier_gl", "鼓楼区核查员", "verifier", "gl"),
    ("supervisor1", "市督办员", "supervisor", "nj"),
    ("supervisor_gl", "鼓楼区督办员", "supervisor", "gl"),
    ("admin", "系统管理员", "admin", "nj"),
    ("grid_nhl", "宁海路第一社区网格员", "grid_worker", "gl-nhl-c1-g1"),
    # A second district, so that what one district may not see is there to be tried.
    ("dispatcher_xw", "玄武区派遣员", "dispatcher", "xw"),
    ("supervisor_xw", "玄武区督办员", "supervisor", "xw"),
    ("handler_xwm", "玄武门街道处置员", "handler", "xw-xwm"),
    ("verifier_xw", "玄武区核查员", "verifier", "xw"),
]

# Duplicate radius (metres) where the default 100 m does not fit: a manhole is one spot,
# noise carries.
DEDUP_RADIUS_M = {"manhole_cover": 50, "construction_noise": 300, "waterlogging": 200}


# Sensors: (id, name, alarm type -> category, grid they stand in, address). Their tokens are
# minted with `cityloop device-token ID`.
DEVICES: list[tuple[str, str, dict[str, str], str, str]] = [
    (
        "wl-gl-nhl-01",
        "宁海路积水监测点",
        {"water_level": "waterlogging"},
        "gl-nhl-c1-g2",
        "宁海路与汉口路交叉口",
    ),
    (
        "mh-gl-hq-01",
        "华侨路智能井盖",
        {"cover_tilt": "manhole_cover", "cover_open": "manhole_cover"},
        "gl-hq-c1-g1",
        "华侨路 56 号门前",
    ),
]


def demo_devices(boundaries_file: Path) -> Iterator[Device]:
    areas = boundaries(boundaries_file)
    for device_id, name, alarms, grid, address in DEVICES:
        point = areas.representative_point(grid)
        if point is None:
            continue  # a deployment's own boundaries without the demo grids
        yield Device(
            id=device_id,
            name=name,
            token_hash=unusable_token_hash(),
            alarm_categories=alarms,
            lat=point[0],
            lon=point[1],
            address=address,
            is_demo=True,
        )


def demo_units() -> Iterator[Unit]:
    city_id, city_name = CITY
    yield Unit(id=city_id, name=city_name, level="city", path=f"/{city_id}/", is_demo=True)
    for dept_type, name, _ in DEPARTMENTS:
        yield _dept(f"{city_id}-dept-{dept_type}", name, dept_type, city_id, f"/{city_id}/")
    for did, dname, streets in DISTRICTS:
        dpath = f"/{city_id}/{did}/"
        yield Unit(
            id=did, name=dname, level="district", parent_id=city_id, path=dpath, is_demo=True
        )
        for dept_type, _, suffix in DEPARTMENTS:
            yield _dept(f"{did}-dept-{dept_type}", dname + suffix, dept_type, did, dpath)
        for sid, sname in streets:
            yield from _street(sid, sname, did, dpath)


def _dept(uid: str, name: str, dept_type: str, parent: str, parent_path: str) -> Unit:
    return Unit(
        id=uid,
        name=name,
        level="dept",
        parent_id=parent,
        path=f"{parent_path}{uid}/",
        dept_type=dept_type,
        is_demo=True,
    )


def _street(sid: str, sname: str, did: str, dpath: str) -> Iterator[Unit]:
    spath = f"{dpath}{sid}/"
    yield Unit(id=sid, name=sname, level="street", parent_id=did, path=spath, is_demo=True)
    short = sname.removesuffix("街道")
    for c in (1, 2):
        cid, cpath = f"{sid}-c{c}", f"{spath}{sid}-c{c}/"
        cname = f"{short}第{'一二'[c - 1]}社区"
        yield Unit(id=cid, name=cname, level="community", parent_id=sid, path=cpath, is_demo=True)
        for g in (1, 2):
            gid = f"{cid}-g{g}"
            yield Unit(
                id=gid,
                name=f"{cname}第{g}网格",
                level="grid",
                parent_id=cid,
                path=f"{cpath}{gid}/",
                is_demo=True,
            )


def demo_categories() -> Iterator[Category]:
    for key, name, kind, group, working, limits, owner, keywords in CATEGORIES:
        yield Category(
            key=key,
            name=name,
            kind=kind,
            group_name=group,
            working_time=working,
            limits=limits,
            owner_dept=owner,
            keywords=keywords,
            # A missing manhole cover is dangerous: remind at half time already.
            reminders=[0.5, 0.75] if key == "manhole_cover" else [],
            dedup_radius_m=DEDUP_RADIUS_M.get(key, 100),
            is_demo=True,
        )


def seed_demo(session: Session) -> dict[str, int]:
    """Merge the demo rows; return how many of each kind exist afterwards."""
    units = list(demo_units())
    known = set(session.exec(select(Unit.id)))
    for unit in units:  # parents come before children; inserts keep this order
        if unit.id in known:
            session.merge(unit)
        else:
            session.add(unit)
    for category in demo_categories():
        session.merge(category)
    existing = set(session.exec(select(User.username)))
    hashed = hash_password(DEMO_PASSWORD)  # one hash: all demo users share the demo password
    for username, display, role, unit_id in USERS:
        if username not in existing:
            session.add(
                User(
                    username=username,
                    display_name=display,
                    password_hash=hashed,
                    role=role,
                    unit_id=unit_id,
                    is_demo=True,
                )
            )
    for device in demo_devices(get_settings().boundaries_file):
        if session.get(Device, device.id) is None:  # a minted token survives re-seeding
            session.add(device)
    session.flush()  # the directory refers to units
    teams = seed_demo_directory(session)
    return {"units": len(units), "categories": len(CATEGORIES), "users": len(USERS), "teams": teams}


async def stage_demo_cases(
    client: Client, settings: Settings, sessions: SessionFactory
) -> list[str]:
    """Run each registered type's demo hook (workflows/registry.py): cases that need Temporal."""
    staged = []
    for case_type in registry.all_types():
        if case_type.demo and await registry.load(case_type.demo)(client, settings, sessions):
            staged.append(case_type.name)
    return staged


def prepare_demo_database(url: str) -> dict[str, int]:
    """Migrate the database at `url` to the newest schema and seed the demo data into it."""
    migrate(url)
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        counts = seed_demo(session)
    engine.dispose()
    return counts
