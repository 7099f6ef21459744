"""Routing that learns over the real app: a supervisor accepts an override and the next case is
routed by it (real worker, real Temporal dev server); the report is for supervisors only."""

from __future__ import annotations

import httpx

from core.db import SessionFactory
from tests.api.test_cases import CASE
from tests.conftest import token_for

OVERRIDE = {
    "category": "exposed_garbage",
    "area_unit_id": "gl-nhl",
    "unit_id": "gl-dept-urban",
    "reason": "近90天宁海路街道暴露垃圾 4/6 件最终由城管局办结",
}


async def test_the_next_case_follows_an_accepted_override(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    supervisor, op = token_for(sessions, "supervisor_gl"), token_for(sessions, "operator1")
    accepted = await http.post("/api/v1/routing/overrides", json=OVERRIDE, headers=supervisor)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["accepted_by"] == "supervisor_gl"

    case = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()
    assert case["assigned_unit"]["id"] == "gl-dept-urban"
    detail = (await http.get(f"/api/v1/cases/{case['ticket']}", headers=supervisor)).json()
    [dispatch] = [e for e in detail["timeline"] if e["action"] == "dispatch"]
    assert dispatch["payload"]["rule"] == "learned_override"

    override_id = accepted.json()["id"]
    revoked = await http.post(
        f"/api/v1/routing/overrides/{override_id}/revoke",
        json={"reason": "试行结束"},
        headers=supervisor,
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "supervisor_gl"
    again = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()
    assert again["assigned_unit"]["id"] == "gl-nhl"


async def test_the_report_is_for_supervisors_and_wants_zoned_times(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    supervisor, op = token_for(sessions, "supervisor_gl"), token_for(sessions, "operator1")
    report = await http.get("/api/v1/routing/suggestions", headers=supervisor)
    assert report.status_code == 200 and report.json() == []  # no closed cases yet
    assert (await http.get("/api/v1/routing/suggestions", headers=op)).status_code == 403
    naive = await http.get(
        "/api/v1/routing/suggestions", params={"since": "2026-11-01T00:00:00"}, headers=supervisor
    )
    assert naive.status_code == 422 and naive.json()["field"] == "since"
    refused = await http.post("/api/v1/routing/overrides", json=OVERRIDE, headers=op)
    assert refused.status_code == 403
    listed = await http.get("/api/v1/routing/overrides", headers=supervisor)
    assert listed.json() == []
