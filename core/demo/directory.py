"""Demo teams, people and equipment of the directory, for five units of 鼓楼区."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from core.models import Equipment, Person, Team, Unit

# ---- demo data -------------------------------------------------------------------------------
# unit id -> [(team name, specialty, [(person, role, phone)])]; the first person leads.
DEMO_TEAMS: dict[str, list[tuple[str, str, list[tuple[str, str, str]]]]] = {
    "gl-dept-water": [
        (
            "排水抢险一队",
            "排水防涝、积水抽排",
            [
                ("陈建国", "队长", "13905140101"),
                ("李明", "抢险队员", "13905140102"),
                ("赵强", "驾驶员", "13905140103"),
            ],
        ),
        (
            "供水管网抢修队",
            "供水管道抢修",
            [("孙伟", "队长", "13905140111"), ("周磊", "管道工", "13905140112")],
        ),
    ],
    "gl-dept-urban": [
        (
            "城管应急保障队",
            "市容环境应急保障",
            [
                ("吴刚", "队长", "13905140201"),
                ("郑华", "队员", "13905140202"),
                ("王磊", "队员", "13905140203"),
            ],
        ),
        (
            "路灯维护班",
            "路灯照明维护",
            [("冯涛", "班长", "13905140211"), ("蒋勇", "电工", "13905140212")],
        ),
    ],
    "gl-dept-construction": [
        (
            "道路设施抢修队",
            "道路破损、井盖抢修",
            [
                ("韩斌", "队长", "13905140301"),
                ("杨帆", "技术员", "13905140302"),
                ("朱军", "队员", "13905140303"),
            ],
        ),
    ],
    "gl-nhl": [
        (
            "宁海路街道综合执法队",
            "街面秩序执法",
            [("秦峰", "队长", "13905140401"), ("许静", "执法队员", "13905140402")],
        ),
        (
            "宁海路街道环境整治队",
            "环境卫生整治",
            [
                ("何平", "队长", "13905140411"),
                ("吕洋", "保洁员", "13905140412"),
                ("施敏", "保洁员", "13905140413"),
            ],
        ),
    ],
    "gl-hq": [
        (
            "华侨路街道应急处置队",
            "应急处置",
            [
                ("施强", "队长", "13905140501"),
                ("张丽", "队员", "13905140502"),
                ("孔亮", "队员", "13905140503"),
            ],
        ),
    ],
}
# (unit id, type, name, serial, status, note)
DEMO_EQUIPMENT: list[tuple[str, str, str, str, str, str]] = [
    ("gl-dept-water", "抽水泵车", "大流量排水抢险车", "苏A·W1001", "available", ""),
    ("gl-dept-water", "抽水泵车", "移动式抽水泵车", "苏A·W1002", "repair", "水泵电机检修"),
    ("gl-dept-water", "高压清洗车", "管道疏通高压清洗车", "苏A·W2001", "available", ""),
    ("gl-dept-water", "移动泵", "潜水排污泵", "GL-SW-P-0301", "available", ""),
    ("gl-dept-urban", "登高车", "路灯维修登高车", "苏A·C3001", "available", ""),
    ("gl-dept-urban", "高压清洗车", "道路冲洗高压清洗车", "苏A·C3002", "available", ""),
    ("gl-dept-urban", "环卫车", "垃圾清运车", "苏A·C3003", "available", ""),
    ("gl-dept-construction", "抢修车", "井盖抢修车", "苏A·J4001", "available", ""),
    ("gl-dept-construction", "抢修车", "路面修补车", "苏A·J4002", "available", ""),
    ("gl-nhl", "巡查车", "综合执法巡查车", "苏A·N5001", "available", ""),
    ("gl-nhl", "保洁车", "小型保洁车", "苏A·N5002", "available", ""),
    ("gl-hq", "巡查车", "应急巡查车", "苏A·H6001", "available", ""),
    ("gl-hq", "移动泵", "便携式抽水泵", "GL-HQ-P-01", "available", ""),
]


def seed_demo_directory(session: Session) -> int:
    """Demo teams, people and equipment (idempotent); return how many teams exist.

    Rows are found by unit and name (teams, people) or serial (equipment); an existing row is
    left as it is, so a demo that allocated or edited something keeps it.
    """
    units = set(session.exec(select(Unit.id).where(col(Unit.id).in_(DEMO_TEAMS))))
    teams = {(t.unit_id, t.name): t for t in session.exec(select(Team))}
    people = {(p.unit_id, p.name) for p in session.exec(select(Person))}
    for unit_id in sorted(units):
        for name, specialty, members in DEMO_TEAMS[unit_id]:
            team = teams.get((unit_id, name))
            if team is None:
                leader, _, phone = members[0]
                team = Team(
                    unit_id=unit_id,
                    name=name,
                    specialty=specialty,
                    leader=leader,
                    phone=phone,
                    is_demo=True,
                )
                session.add(team)
                session.flush()
            for person, role, phone in members:
                if (unit_id, person) not in people:
                    session.add(
                        Person(
                            unit_id=unit_id,
                            team_id=team.id,
                            name=person,
                            role=role,
                            phone=phone,
                            is_demo=True,
                        )
                    )
    serials = set(session.exec(select(Equipment.serial)))
    for unit_id, kind, name, serial, status, note in DEMO_EQUIPMENT:
        if unit_id in units and serial not in serials:
            session.add(
                Equipment(
                    unit_id=unit_id,
                    type=kind,
                    name=name,
                    serial=serial,
                    status=status,
                    note=note,
                    is_demo=True,
                )
            )
    session.flush()
    return session.exec(select(func.count()).select_from(Team)).one()
