"""A published Open311 client (`georeport` from PyPI) against the app served over real HTTP.

The library is synchronous (`requests`); its calls run in a thread while uvicorn and the
worker run on the test's event loop. It cannot create requests (its README says so: "does
not currently support the creation of new 311 service requests"), so the POST goes through
`requests` the way any form-posting Open311 client sends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import requests
from georeport import GeoReport
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, session_scope
from core.open311 import mint_open311_key
from tests.api.test_open311 import in_read_model, point
from tests.web.browser import serving

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking client call, off the loop that serves it."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def post_form(root: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    answer = requests.post(f"{root}/requests.json", data=data, timeout=30)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


async def test_georeport_library(
    dev_env: WorkflowEnvironment, db_url: str, sessions: SessionFactory, task_queue: str
) -> None:
    with session_scope(sessions) as session:
        api_key = mint_open311_key(session, "georeport")
    async with serving(dev_env, db_url, task_queue) as base:
        root = f"{base}/open311/v2"
        as_json = GeoReport(root, jurisdiction="nanjing", api_key=api_key)
        as_xml = GeoReport(root, jurisdiction="nanjing", output_format="xml")

        services = await call(as_json.get_service_list)
        assert "exposed_garbage" in {s["service_code"] for s in services}
        xml_services = await call(as_xml.get_service_list)
        assert [s["service_code"] for s in xml_services] == [s["service_code"] for s in services]
        assert xml_services[0]["metadata"] == "false"
        definition = await call(as_json.get_service_definition, "exposed_garbage")
        assert definition == {"service_code": "exposed_garbage", "attributes": []}
        xml_definition = await call(as_xml.get_service_definition, "exposed_garbage")
        assert xml_definition == {"service_code": "exposed_garbage", "attributes": None}

        lat, lon = point()
        form = {
            "api_key": api_key,
            "jurisdiction_id": "nanjing",
            "service_code": "exposed_garbage",
            "lat": lat,
            "long": lon,
            "description": "颐和路垃圾堆放",
            "phone": "13912345678",
        }
        [answer] = await call(post_form, root, form)
        ticket = answer["service_request_id"]
        await in_read_model(sessions, ticket)

        one = await call(as_json.get_service_request, ticket)
        assert (one["service_request_id"], one["status"]) == (ticket, "open")
        xml_one = await call(as_xml.get_service_request, ticket)
        assert (xml_one["service_request_id"], xml_one["status"]) == (ticket, "open")
        assert xml_one["description"] == "颐和路垃圾堆放" and xml_one["zipcode"] is None
        listed = await call(as_json.get_service_requests, service_code="exposed_garbage")
        assert [r["service_request_id"] for r in listed] == [ticket]
        by_id = await call(as_xml.get_service_requests, service_request_id=ticket, status="open")
        assert by_id["service_request_id"] == ticket  # xmltodict: one element, not a list

        with pytest.raises(requests.HTTPError) as missing:
            await call(as_json.get_service_request, "CL20000101-000001")
        assert missing.value.response.status_code == 404
        elsewhere = GeoReport(root, jurisdiction="chicago")
        with pytest.raises(requests.HTTPError) as foreign:
            await call(elsewhere.get_service_list)
        assert foreign.value.response.json()[0]["code"] == 404
