"""Sensor alarms (`POST /api/v1/alerts`): device tokens, one case per alarm stream, storms."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.db import SessionFactory, session_scope
from core.intake import service as intake_module
from core.intake.devices import mint_device_token
from core.models import Device
from tests.conftest import projected, token_for

WATER = "wl-gl-nhl-01"  # a demo device: water_level → waterlogging


def device_headers(sessions: SessionFactory, device_id: str = WATER) -> dict[str, str]:
    with session_scope(sessions) as session:
        device = session.get(Device, device_id)
        assert device is not None
        return {"Authorization": f"Bearer {mint_device_token(session, device)}"}


def alarm(value: float = 0.32, **extra: object) -> dict[str, object]:
    return {"device_id": WATER, "alarm_type": "water_level", "value": value, **extra}


async def test_bad_alarms_are_refused(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    headers = device_headers(sessions)
    assert (await http.post("/api/v1/alerts", json=alarm())).status_code == 401
    bad = await http.post("/api/v1/alerts", json=alarm(), headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401
    user = await http.post("/api/v1/alerts", json=alarm(), headers=token_for(sessions, "admin"))
    assert user.status_code == 401  # a person's token is not a device's
    other = await http.post(
        "/api/v1/alerts", json={**alarm(), "device_id": "mh-gl-hq-01"}, headers=headers
    )
    assert other.status_code == 403
    kind = await http.post(
        "/api/v1/alerts", json={**alarm(), "alarm_type": "smoke"}, headers=headers
    )
    assert kind.status_code == 422 and kind.json()["field"] == "alarm_type"
    future = datetime.now(UTC) + timedelta(hours=1)
    ahead = await http.post("/api/v1/alerts", json=alarm(at=future.isoformat()), headers=headers)
    assert ahead.status_code == 422 and ahead.json()["field"] == "at"
    naive = await http.post("/api/v1/alerts", json=alarm(at="2026-11-29T10:00:00"), headers=headers)
    assert naive.status_code == 422
    listed = await http.get("/api/v1/cases", headers=token_for(sessions, "supervisor1"))
    assert listed.json()["total"] == 0


async def test_an_alarm_storm_makes_one_case(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = device_headers(sessions)
    first = await http.post("/api/v1/alerts", json=alarm(0.1), headers=headers)
    assert first.status_code == 201, first.text
    ticket = first.json()["ticket"]

    async def ping(i: int) -> httpx.Response:
        return await http.post("/api/v1/alerts", json=alarm(0.1 + i / 1000), headers=headers)

    answers = await asyncio.gather(*(ping(i) for i in range(1, 500)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["ticket"] for a in answers} == {ticket}
    city = token_for(sessions, "supervisor1")  # reads every district (core.access)
    detail = (await http.get(f"/api/v1/cases/{ticket}", headers=city)).json()
    case = detail["case"]
    assert case["signal_count"] == 500 and case["channel"] == "sensor"
    # Alarms that queued behind an update went as one: fewer updates, every alarm counted.
    signals = [e for e in detail["timeline"] if e["action"] == "signal"]
    assert sum(e["payload"]["alarms"] for e in signals) == 500
    assert len(signals) < 500
    assert case["location"]["unit_id"] == "gl-nhl-c1-g2"
    assert case["status"] == "DISPATCHED"  # dispatched once, whatever the number of pings
    listed = await http.get("/api/v1/cases", headers=city)
    assert listed.json()["total"] == 1


async def test_a_closed_case_makes_the_next_alarm_open_another(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = device_headers(sessions)
    first = (await http.post("/api/v1/alerts", json=alarm(), headers=headers)).json()
    closed = await http.post(
        f"/api/v1/cases/{first['ticket']}/actions/force_close",
        json={"reason": "已排水", "note": "积水已排除"},
        headers=token_for(sessions, "supervisor_gl"),
    )
    assert closed.status_code == 200, closed.text
    second = await http.post("/api/v1/alerts", json=alarm(0.5), headers=headers)
    assert second.status_code == 201
    assert second.json()["ticket"] != first["ticket"] and second.json()["signal_count"] == 1


async def test_an_alarm_outside_the_city_goes_to_the_centre_for_triage(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    with session_scope(sessions) as session:
        device = Device(
            id="wl-far-01",
            name="城外测试点",
            token_hash="unset",
            alarm_categories={"water_level": "waterlogging"},
            lat=39.9,
            lon=116.4,
        )
        session.add(device)
        headers = {"Authorization": f"Bearer {mint_device_token(session, device)}"}
    body = {**alarm(), "device_id": "wl-far-01"}
    answer = await http.post("/api/v1/alerts", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    detail = await http.get(
        f"/api/v1/cases/{answer.json()['ticket']}", headers=token_for(sessions, "supervisor1")
    )
    case = detail.json()["case"]
    # No district, no street: no rule routes it, so the city centre dispatches it by hand.
    assert case["location"]["unit_id"] == "nj" and case["status"] == "REGISTERED"


async def test_past_its_update_budget_a_case_counts_alarms_in_the_stream(
    http: httpx.AsyncClient, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "ALARM_UPDATE_BUDGET", 2)
    headers, city = device_headers(sessions), token_for(sessions, "supervisor1")
    first = (await http.post("/api/v1/alerts", json=alarm(0.1), headers=headers)).json()
    await http.post("/api/v1/alerts", json=alarm(0.2), headers=headers)
    detail = (await http.get(f"/api/v1/cases/{first['ticket']}", headers=city)).json()
    await projected(sessions, detail["case"]["case_id"], detail["case"]["last_seq"])
    third = await http.post("/api/v1/alerts", json=alarm(0.3), headers=headers)
    assert third.status_code == 200
    assert third.json()["ticket"] == first["ticket"] and third.json()["signal_count"] == 3
    live = (await http.get(f"/api/v1/cases/{first['ticket']}", headers=city)).json()["case"]
    assert live["signal_count"] == 2  # the third is counted by the stream, not sent
    closed = await http.post(
        f"/api/v1/cases/{first['ticket']}/actions/force_close",
        json={"reason": "已排水", "note": "积水已排除"},
        headers=token_for(sessions, "supervisor_gl"),
    )
    await projected(sessions, closed.json()["case_id"], closed.json()["last_seq"])
    after = await http.post("/api/v1/alerts", json=alarm(0.4), headers=headers)
    assert after.status_code == 201 and after.json()["ticket"] != first["ticket"]
