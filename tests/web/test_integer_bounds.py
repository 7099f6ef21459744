"""Integers in web routes past their bounds are refused with 422, never a 500 (core/bounds.py)."""

from __future__ import annotations

from tests.web.support import Web, login, post

HUGE = ["99999999999999999999", str(2**63 - 1), str(2**31)]


async def test_ids_and_pages_past_their_bounds_are_422(web: Web) -> None:
    http = web.http
    assert (await login(http, "supervisor1")).status_code == 303
    for value in HUGE:
        answers = [
            ("id", await http.get("/directory", params={"edit": "teams", "id": value})),
            ("page", await http.get("/audit/personal-data-views", params={"page": value})),
            ("item_id", await post(http, f"/inbox/{value}/read", {})),
            ("item_id", await post(http, f"/directory/teams/{value}", {"name": "x"})),
            ("allocation_id", await post(http, f"/cases/T1/resources/{value}/release", {})),
        ]
        for field, answer in answers:
            assert answer.status_code == 422, (field, value, answer.text)
            assert answer.json()["field"] == field, answer.text
