"""`/api/v1/me/notifications`: one's own opt-in to e-mail or SMS, checked before it is kept."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.models import ReporterContact
from core.open311 import mint_open311_key
from tests.api.test_open311 import assert_error, created, post
from tests.conftest import token_for

URL = "/api/v1/me/notifications"


async def test_nothing_is_wanted_until_one_opts_in(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    me = token_for(sessions, "supervisor_gl")
    got = await http.get(URL, headers=me)
    assert got.status_code == 200
    assert got.json() == {"channel": "email", "address": "", "kinds": [], "updated_at": None}
    wanted = {"channel": "email", "address": "sup@example.cn", "kinds": ["escalate", "remind"]}
    put = await http.put(URL, json=wanted, headers=me)
    assert put.status_code == 200
    body = put.json()
    assert (body["address"], body["kinds"]) == ("sup@example.cn", ["remind", "escalate"])
    assert body["updated_at"] is not None
    assert (await http.get(URL, headers=me)).json() == body
    other = await http.get(URL, headers=token_for(sessions, "dispatcher_gl"))
    assert other.json()["kinds"] == []  # one's own only


async def test_an_sms_number_is_kept_as_the_mobile_it_is(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    me = token_for(sessions, "handler_nhl")
    wanted = {"channel": "sms", "address": "+86 138-1234-5678", "kinds": ["dispatch"]}
    put = await http.put(URL, json=wanted, headers=me)
    assert put.status_code == 200 and put.json()["address"] == "13812345678"


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"channel": "email", "address": "a@b.cn", "kinds": ["tracking"]}, "kinds.0", "Input"),
        ({"channel": "fax", "address": "1", "kinds": []}, "channel", "Input"),
        ({"channel": "email", "address": "", "kinds": ["remind"]}, "address", "an address is"),
        (
            {"channel": "email", "address": "not-mail", "kinds": ["remind"]},
            "address",
            "not an e-mail",
        ),
        (
            {"channel": "sms", "address": "025-83001234", "kinds": ["remind"]},
            "address",
            "not a mainland",
        ),
    ],
)
async def test_a_refused_choice_names_its_field_and_changes_nothing(
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    body: dict[str, object],
    field: str,
    detail: str,
) -> None:
    me = token_for(sessions, "verifier_gl")
    keep = {"channel": "email", "address": "v@example.cn", "kinds": ["escalate"]}
    assert (await http.put(URL, json=keep, headers=me)).status_code == 200
    refused = await http.put(URL, json=body, headers=me)
    assert refused.status_code == 422
    assert refused.json()["field"] == field and detail in refused.json()["detail"]
    after = (await http.get(URL, headers=me)).json()
    assert (after["address"], after["kinds"]) == ("v@example.cn", ["escalate"])


async def test_who_works_no_cases_cannot_opt_in(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    wanted = {"channel": "email", "address": "a@example.cn", "kinds": ["remind"]}
    refused = await http.put(URL, json=wanted, headers=token_for(sessions, "admin"))
    assert refused.status_code == 403 and refused.json()["field"] == ""
    assert (await http.put(URL, json=wanted)).status_code == 401


def test_the_openapi_names_the_channels_and_kinds() -> None:
    spec = create_app(Settings(secret_key="s" * 40)).openapi()
    schemas = spec["components"]["schemas"]
    kinds = schemas["Preferences"]["properties"]["kinds"]["items"]
    assert schemas[kinds["$ref"].rsplit("/", 1)[1]]["enum"] == ["remind", "escalate", "dispatch"]
    channel = schemas["Preferences"]["properties"]["channel"]
    assert schemas[channel["$ref"].rsplit("/", 1)[1]]["enum"] == ["email", "sms"]
    put = spec["paths"][URL]["put"]["responses"]
    assert {"200", "401", "403", "422", "503"} <= set(put)


async def test_an_open311_client_s_email_is_kept_for_telling_the_reporter(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    with session_scope(sessions) as session:
        key = mint_open311_key(session, "南京通")
    body = await created(http, key, email="reporter@example.cn")
    with session_scope(sessions) as session:
        contact = session.get(ReporterContact, body["service_request_id"])
    assert contact is not None and contact.email == "reporter@example.cn"
    assert_error(await post(http, key, email="not mail"), 400, "email")
