"""Personal data out of Temporal history: what the server keeps is ciphertext, the codec-enabled
processes read it normally, keys rotate, and /codec/decode serves the Temporal Web UI and CLI.

Real app, real worker, the real dev server; the "plain" client is the same connection
without the codec, i.e. what the Temporal Web UI or CLI shows anyone who reaches the server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.config import Settings, get_settings
from core.db import make_engine, session_factory
from core.intake.geo import boundaries
from core.temporal.codec import KEY_ID, PayloadDecryptError
from core.temporal.worker import data_converter
from tests.conftest import CONVERTER, api_client, make_settings, running_worker, token_for
from tests.web.browser import serving
from tests.web.support import Web, login, web_stack
from workflows import registry
from workflows.contracts import CaseInput

NAME, PHONE = "王小明", "13912345678"
LINKED_NAME, LINKED_PHONE = "李四海", "13700001111"
LAT, LON = boundaries(get_settings().boundaries_file).representative_point("gl-nhl-c1-g1") or (0, 0)
REPORT = {
    "title": "颐和路井盖缺失",
    "description": f"来电人{NAME}反映井盖丢失，回电{PHONE}",  # callers' words carry them too
    "category": "manhole_cover",
    "lat": LAT,
    "lon": LON,
    "address": "颐和路 8 号",
    "reporter_name": NAME,
    "reporter_phone": PHONE,
}
UI_ORIGIN = "http://127.0.0.1:8233"  # the dev stack's Temporal Web UI (Settings default)


@pytest_asyncio.fixture(loop_scope="session")
async def web(dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str) -> AsyncIterator[Web]:
    async with web_stack(dev_env.client, sqlite_db, task_queue) as stack:
        yield stack


def with_converter(client: Client, converter: DataConverter) -> Client:
    """Another client on the same connection, with its own data converter."""
    return Client(**{**client.config(), "data_converter": converter})


def needles(text: str) -> list[bytes]:
    """The forms `text` takes in an unencrypted payload: UTF-8, and JSON's \\u escapes."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message (a history event, say)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        else:
            items = list(value) if field.is_repeated else [value]
        for item in items:
            yield from payloads_in(item)


async def open_case_with_linked_report(web: Web) -> str:
    """A hotline case with a reporter, plus a second caller's report merged into it."""
    op = token_for(web.sessions, "operator1")
    first = await web.http.post("/api/v1/reports", json=REPORT, headers=op)
    assert first.status_code == 201, first.text
    ticket = first.json()["case_ticket"]
    second = {
        **REPORT,
        "reporter_name": LINKED_NAME,
        "reporter_phone": LINKED_PHONE,
        "merge_into": ticket,
    }
    merged = await web.http.post("/api/v1/reports", json=second, headers=op)
    assert merged.status_code == 201 and merged.json()["merged"] is True, merged.text
    return str(first.json()["case"]["case_id"])


async def test_history_holds_no_reporter_in_the_clear(
    dev_env: WorkflowEnvironment, web: Web
) -> None:
    case_id = await open_case_with_linked_report(web)
    plain = with_converter(dev_env.client, DataConverter.default)
    history = await plain.get_workflow_handle(case_id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert start and all(p.metadata["encoding"] == b"binary/encrypted" for p in start)
    # Decrypted, the same history holds all four (so the scan below would see a leak)...
    codec = CONVERTER.payload_codec
    assert codec is not None
    every = [p for event in history.events for p in payloads_in(event)]
    clear = b"".join(p.SerializeToString() for p in await codec.decode(every))
    for secret in (NAME, PHONE, LINKED_NAME, LINKED_PHONE):
        assert any(form in clear for form in needles(secret)), secret
        # ...while what the server keeps, and shows, holds none of them in any form.
        assert not any(form in raw for form in needles(secret)), secret

    # The codec-enabled processes read the case as ever: live state, read model, reporters.
    sup = token_for(web.sessions, "supervisor1")
    ticket = case_id.removeprefix("case-")
    detail = (await web.http.get(f"/api/v1/cases/{ticket}", headers=sup)).json()
    assert detail["case"]["report_count"] == 2
    assert sorted(r["phone"] for r in detail["reporters"]) == sorted([PHONE, LINKED_PHONE])
    [inp] = await CONVERTER.decode(start, [CaseInput])
    assert (inp.reporter_name, inp.reporter_phone) == (NAME, PHONE)


async def test_an_encrypted_history_replays_with_the_codec_only(
    dev_env: WorkflowEnvironment, web: Web
) -> None:
    case_id = await open_case_with_linked_report(web)
    history = await dev_env.client.get_workflow_handle(case_id).fetch_history()
    assert isinstance(history, WorkflowHistory)
    workflows = registry.workflow_classes()
    replayed = await Replayer(workflows=workflows, data_converter=CONVERTER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert replayed.replay_failure is None
    blind = await Replayer(workflows=workflows).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert blind.replay_failure is not None  # proof the history really is encrypted


def keys_settings(keys: dict[str, bytes], current: str) -> Settings:
    text = ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in keys.items())
    return Settings(payload_keys=text, payload_key_id=current)


async def test_rotation_a_case_started_under_the_old_key_goes_on_under_the_new(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    old, new = b"o" * 32, b"n" * 32
    sessions = session_factory(make_engine(sqlite_db))
    settings = make_settings(sqlite_db, dev_env.client, task_queue)
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_gl_water")
    before = with_converter(dev_env.client, data_converter(keys_settings({"old": old}, "old")))
    async with running_worker(before, task_queue, sessions), api_client(settings, before) as http:
        created = await http.post("/api/v1/reports", json=REPORT, headers=op)
        assert created.status_code == 201, created.text
        case = created.json()["case"]
    # docs/codec.md: every process first learns the new key, then encrypts with it. A fresh
    # worker replays the case's history (all under the old key) before it can act.
    keys = {"old": old, "new": new}
    after = with_converter(dev_env.client, data_converter(keys_settings(keys, "new")))
    async with running_worker(after, task_queue, sessions), api_client(settings, after) as http:
        url = f"/api/v1/cases/{case['ticket']}/actions/accept"
        accepted = await http.post(url, json={}, headers=handler)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "ACCEPTED"

    history = await after.get_workflow_handle(case["case_id"]).fetch_history()
    key_ids = [
        [p.metadata.get(KEY_ID) for p in payloads_in(e) if KEY_ID in p.metadata]
        for e in history.events
    ]
    used = [k for ids in key_ids for k in ids]
    first_new = used.index(b"new")
    assert set(used[:first_new]) == {b"old"} and set(used[first_new:]) == {b"new"}
    only_new = data_converter(keys_settings({"new": new}, "new"))
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads
    with pytest.raises(PayloadDecryptError, match="key id 'old'"):
        await only_new.decode(start, [CaseInput])


# ---- the codec endpoint ------------------------------------------------------------------
async def sealed_body(text: str) -> dict[str, Any]:
    payloads = await CONVERTER.encode([text])
    return json_format.MessageToDict(Payloads(payloads=payloads))


def data_of(body: dict[str, Any]) -> list[Any]:
    return [json.loads(base64.b64decode(p["data"])) for p in body["payloads"]]


async def test_a_city_supervisor_or_admin_gets_decoded_payloads(web: Web) -> None:
    body = await sealed_body(f"来电人 {PHONE}")
    for user in ("supervisor1", "admin"):
        answer = await web.http.post(
            "/codec/decode",
            json=body,
            headers={**token_for(web.sessions, user), "Origin": UI_ORIGIN},
        )
        assert answer.status_code == 200, answer.text
        assert data_of(answer.json()) == [f"来电人 {PHONE}"]
        assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    # encode then decode gives the payload back; plain payloads pass decode untouched
    sup = token_for(web.sessions, "supervisor1")
    plain = json_format.MessageToDict(
        Payloads(payloads=DataConverter.default.payload_converter.to_payloads(["明文"]))
    )
    sealed = (await web.http.post("/codec/encode", json=plain, headers=sup)).json()
    assert base64.b64decode(sealed["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
    assert data_of((await web.http.post("/codec/decode", json=sealed, headers=sup)).json()) == [
        "明文"
    ]
    assert data_of((await web.http.post("/codec/decode", json=plain, headers=sup)).json()) == [
        "明文"
    ]
    empty = await web.http.post("/codec/decode", json={"payloads": []}, headers=sup)
    assert empty.json() == {"payloads": []}


async def test_everyone_else_is_refused_and_sees_no_payload(web: Web) -> None:
    body = await sealed_body(PHONE)
    cors = {"Origin": UI_ORIGIN}
    refusals = {
        "no token": ({}, 401),
        "bad token": ({"Authorization": "Bearer cl_nope"}, 401),
        "handler": (token_for(web.sessions, "handler_nhl"), 403),
        "dispatcher": (token_for(web.sessions, "dispatcher1"), 403),
        "district supervisor": (token_for(web.sessions, "supervisor_gl"), 403),
    }
    for who, (headers, status) in refusals.items():
        for action in ("decode", "encode"):
            answer = await web.http.post(f"/codec/{action}", json=body, headers={**headers, **cors})
            assert answer.status_code == status, (who, action, answer.text)
            assert PHONE not in answer.text and "payloads" not in answer.json()
            # CORS headers even on a refusal: the UI reads the status instead of a network error
            assert answer.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_the_web_session_of_a_city_supervisor_decodes_too(web: Web) -> None:
    body = await sealed_body(PHONE)
    await login(web.http, "handler_nhl")
    assert (await web.http.post("/codec/decode", json=body)).status_code == 403
    await login(web.http, "supervisor1")
    answer = await web.http.post("/codec/decode", json=body)
    assert answer.status_code == 200 and data_of(answer.json()) == [PHONE]


async def test_cors_preflight_answers_only_the_temporal_ui(web: Web) -> None:
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-namespace"}
    ok = await web.http.options("/codec/decode", headers={**ask, "Origin": UI_ORIGIN})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == UI_ORIGIN
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "X-Namespace" in ok.headers["access-control-allow-headers"]
    other = await web.http.options("/codec/decode", headers={**ask, "Origin": "https://evil.test"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    sup = token_for(web.sessions, "supervisor1")
    elsewhere = await web.http.post(
        "/codec/decode",
        json=await sealed_body(PHONE),
        headers={**sup, "Origin": "https://evil.test"},
    )
    assert "access-control-allow-origin" not in elsewhere.headers  # the browser withholds it


async def test_bad_bodies_and_unknown_keys_are_refused_naming_why(web: Web) -> None:
    sup = token_for(web.sessions, "supervisor1")
    for bad in (b"not json", b'{"payloads": [{"data": 5}]}', b'{"payload": []}'):
        answer = await web.http.post("/codec/decode", content=bad, headers=sup)
        assert answer.status_code == 422, bad
        assert answer.json()["detail"].startswith("payloads: not a Temporal Payloads JSON")
    stranger = await with_converter_encode({"k9": b"9" * 32}, "k9", PHONE)
    answer = await web.http.post("/codec/decode", json=stranger, headers=sup)
    assert answer.status_code == 422
    assert "key id 'k9'" in answer.json()["detail"] and PHONE not in answer.text


async def with_converter_encode(keys: dict[str, bytes], current: str, text: str) -> dict[str, Any]:
    payloads = await data_converter(keys_settings(keys, current)).encode([text])
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def test_the_temporal_cli_shows_history_decoded_through_the_endpoint(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    """`temporal workflow show --codec-endpoint … --codec-auth …`: the Web UI's protocol."""
    async with serving(dev_env, sqlite_db, task_queue) as base:
        sessions = session_factory(make_engine(sqlite_db))
        async with httpx.AsyncClient(base_url=base) as http:
            created = await http.post(
                "/api/v1/reports", json=REPORT, headers=token_for(sessions, "operator1")
            )
        case_id = created.json()["case"]["case_id"]
        auth = token_for(sessions, "supervisor1")["Authorization"]
        seen = await temporal_show(dev_env, case_id)
        decoded = await temporal_show(
            dev_env, case_id, "--codec-endpoint", f"{base}/codec", "--codec-auth", auth
        )
    assert PHONE not in json.dumps(seen)
    assert base64.b64decode(seen["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(decoded["data"]))["reporter_phone"] == PHONE


async def temporal_show(env: WorkflowEnvironment, workflow_id: str, *extra: str) -> Any:
    """The start input of the workflow's history as the `temporal` CLI prints it."""
    argv = [
        f"{sys.executable.rsplit('/', 1)[0]}/temporal",
        "workflow", "show", "-w", workflow_id, "-o", "json",
        "--address", env.client.service_client.config.target_host,
        "--namespace", env.client.namespace,
        *extra,
    ]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]
    return started["input"]["payloads"][0]
