"""Record the intake histories: `python -m tests.histories.record_intake`.

Three cases: one that takes a merged report, splits it back out, gets equipment noted and is
force-closed; one opened and joined by sensor alarms; one 咨询 answered directly.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from core.cases.service import ActionRequest, CaseService, IntakeRequest
from core.db import session_scope
from core.intake.geo import boundaries
from core.intake.service import AlarmIn, IntakeService
from core.models import Device, User
from tests.histories.record import HERE, recording_stack
from workflows.contracts import ResourceNote

POINT = {"lat": 32.0, "lon": 118.0}  # replaced by a point inside gl-nhl-c1-g1


async def record() -> list[str]:
    async with recording_stack() as service:
        intake = IntakeService(service)
        lat, lon = boundaries(service.settings.boundaries_file).representative_point(
            "gl-nhl-c1-g1"
        ) or (0.0, 0.0)
        POINT.update(lat=lat, lon=lon)
        cases = {
            "intake_v1_merged": await _merged(service, intake),
            "intake_v1_sensor": await _sensor(service, intake),
            "intake_v1_direct": await _direct(service, intake),
        }
        for name, workflow_id in cases.items():
            handle = service.client.get_workflow_handle(workflow_id)
            await handle.result()
            history = await handle.fetch_history()
            (HERE / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
    return list(cases)


def _user(service: CaseService, name: str) -> User:
    with session_scope(service.sessions) as session:
        return session.exec(select(User).where(User.username == name)).one()


async def _merged(service: CaseService, intake: IntakeService) -> str:
    op = service.actor(_user(service, "operator1"))
    req = IntakeRequest(
        title="井盖缺失", category="manhole_cover", reporter_phone="13812345678", **POINT
    )
    first = await intake.submit(op, req)
    again = req.model_copy(
        update={"reporter_phone": "13900001111", "merge_into": first.case.ticket}
    )
    second = await intake.submit(op, again)
    dispatcher = service.actor(_user(service, "dispatcher_gl"))
    await intake.split(dispatcher, first.case.ticket, second.ticket, "不是同一处")
    handler = _user(service, "handler_gl_water")
    await service.act(handler, first.case.ticket, "accept", ActionRequest())
    handle = service.client.get_workflow_handle(first.case.case_id)
    note = ResourceNote(actor=service.actor(handler), action="allocate", resource="井盖抢修车")
    await handle.signal("record_resource", note)
    await service.act(
        _user(service, "supervisor_gl"),
        first.case.ticket,
        "force_close",
        ActionRequest(reason="演示", note="已更换井盖"),
    )
    await service.act(
        _user(service, "operator1"),
        first.case.ticket,
        "record_callback",
        ActionRequest(rating="satisfied"),
    )
    # The split-out case is left running; cancel it so nothing outlives the recording.
    await service.client.get_workflow_handle(f"case-{second.ticket}").terminate("recorded")
    return first.case.case_id


async def _sensor(service: CaseService, intake: IntakeService) -> str:
    with session_scope(service.sessions) as session:
        device = session.get(Device, "wl-gl-nhl-01")
        assert device is not None
    result = None
    for value in (0.2, 0.3, 0.4):
        alarm = AlarmIn(
            device_id=device.id, alarm_type="water_level", value=value, at=datetime.now(UTC)
        )
        result = await intake.receive_alarm(device, alarm)
    assert result is not None
    await service.act(
        _user(service, "supervisor_gl"), result.ticket, "void_invalid", ActionRequest(reason="演示")
    )
    return f"case-{result.ticket}"


async def _direct(service: CaseService, intake: IntakeService) -> str:
    op = service.actor(_user(service, "operator1"))
    req = IntakeRequest(
        title="居住证办理咨询",
        category="hotline_general",
        request_kind="咨询",
        direct_answer="请携带身份证到街道政务服务中心办理。",
        **POINT,
    )
    return (await intake.submit(op, req)).case.case_id


if __name__ == "__main__":
    print(asyncio.run(record()))
