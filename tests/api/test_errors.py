"""Refusals of the JSON API: bounded integers, one documented error shape, every status in
the OpenAPI (api/errors.py, core/bounds.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from api.app import create_app
from core.bounds import MAX_PAGE, MAX_PAGE_SIZE
from core.config import Settings
from core.db import SessionFactory
from tests.api.support import plain_refusal
from tests.conftest import token_for

OPENAPI = create_app(Settings(secret_key="s" * 40)).openapi()
PAST_64_BITS = ["99999999999999999999", str(2**63 - 1), str(2**63), str(2**31)]


def operations(prefix: str = "/api/v1/") -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in OPENAPI["paths"].items()
        for method, op in ops.items()
        if path.startswith(prefix)
    ]


def integer_parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer path or query parameter of the API."""
    return [
        (method, path, p["in"], p["name"])
        for method, path, op in operations()
        for p in op.get("parameters", [])
        if "integer" in {s.get("type") for s in [p["schema"], *p["schema"].get("anyOf", [])]}
    ]


def integer_properties(schema: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    """The integer schemas reachable from `schema` (a request body's), through $refs."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        schema = OPENAPI["components"]["schemas"][name]
    found = [schema] if schema.get("type") == "integer" else []
    children = [
        *schema.get("properties", {}).values(),
        *schema.get("anyOf", []),
        *([schema["items"]] if "items" in schema else []),
    ]
    return found + [i for child in children for i in integer_properties(child, seen)]


def test_every_integer_a_client_sends_is_bounded() -> None:
    params = integer_parameters()
    assert {name for *_, name in params} >= {
        "page",
        "size",
        "item_id",
        "team_id",
        "person_id",
        "equipment_id",
        "allocation_id",
    }
    for method, path, where, name in params:
        schema = OPENAPI["paths"][path][method]["parameters"]
        found = next(p["schema"] for p in schema if p["name"] == name and p["in"] == where)
        bounded = [found, *found.get("anyOf", [])]
        assert any(s.get("maximum", 2**63) < 2**63 for s in bounded), (method, path, name)
    bodies = [
        content["schema"]
        for _m, _p, op in operations("/")
        for content in op.get("requestBody", {}).get("content", {}).values()
    ]
    integers = [i for body in bodies for i in integer_properties(body, set())]
    assert len(integers) >= 5  # team_id, equipment_id, score, round, expected, hours…
    assert all(i.get("maximum", 2**63) < 2**63 for i in integers), integers


async def test_integers_past_their_bounds_are_422_on_their_field(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = token_for(sessions, "supervisor1")
    for method, path, where, name in integer_parameters():
        for value in PAST_64_BITS:
            url = re.sub(r"\{[^}]+\}", "T1", path.replace("{" + name + "}", value))
            params = {name: value} if where == "query" else {}
            body: dict[str, Any] | None = {} if method in ("post", "patch") else None
            answer = await http.request(method, url, params=params, json=body, headers=headers)
            assert answer.status_code == 422, (method, url, params, answer.text)
            refused = answer.json()
            assert refused["field"] == name and refused["errors"][0]["loc"] == [where, name]
            assert refused["detail"].startswith(f"{name}: Input should be less than or equal")


async def test_the_deepest_page_is_empty_not_an_error(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = token_for(sessions, "supervisor1")
    deepest = {"page": MAX_PAGE, "size": MAX_PAGE_SIZE}
    for url in ("/api/v1/cases", "/api/v1/audit/personal-data-views"):
        answer = await http.get(url, params=deepest, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == [] and answer.json()["page"] == MAX_PAGE


async def test_every_refusal_has_detail_and_field(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = token_for(sessions, "supervisor1")
    missing = await http.post(
        "/api/v1/cases", json={"category": "exposed_garbage"}, headers=headers
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "title" and missing.json()["detail"].startswith("title: ")
    assert missing.json()["errors"][0] == {
        "loc": ["body", "title"],
        "msg": "Field required",
        "type": "missing",
    }
    unknown = {
        "title": "宁海路暴露垃圾",
        "category": "nonsense",
        "location_unit_id": "gl-nhl-c1-g1",
    }
    refused = await http.post("/api/v1/cases", json=unknown, headers=headers)
    assert refused.status_code == 422  # refused by the service, in the same shape
    assert refused.json() == {
        "detail": "unknown category 'nonsense'",
        "field": "category",
        "code": "unknown_category",
        "params": {},
        "errors": [{"loc": ["category"], "msg": "unknown category 'nonsense'", "type": "invalid"}],
    }
    unreadable = await http.post(
        "/api/v1/cases",
        content=b"\xff\xfe{",
        headers={**headers, "content-type": "application/json"},
    )
    assert unreadable.status_code == 422 and unreadable.json()["field"] == "body"
    anonymous = await http.get("/api/v1/cases")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json() == plain_refusal("missing bearer token")
    # "²" is a digit to str.isdigit(), not to int(): a length the app must refuse, not crash on
    odd = await http.post(
        "/api/v1/attachments",
        content=b"",
        headers={
            **{k.encode(): v.encode() for k, v in headers.items()},
            b"content-length": "²".encode("latin-1"),
        },
    )
    assert odd.status_code == 422 and odd.json()["field"] == "file"
    nowhere = await http.get("/api/v1/no-such-thing", headers=headers)
    assert nowhere.status_code == 404 and nowhere.json() == plain_refusal("Not Found")


def test_the_openapi_documents_one_422_shape_and_every_refusal() -> None:
    schemas = OPENAPI["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["InvalidOut"]["required"]) == {"detail", "field", "errors"}
    for method, path, op in operations():
        answers = op["responses"]
        assert {"401", "422", "503"} <= set(answers), (method, path)
        invalid = answers["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/InvalidOut"}, (method, path)
        assert "Retry-After" in answers["503"]["headers"]
        if "{" in path:
            assert "404" in answers, (method, path)  # a path that names a row or a case
    for method, path in [("post", "/api/v1/alerts"), ("post", "/api/v1/attachments")]:
        assert "Retry-After" in OPENAPI["paths"][path][method]["responses"]["429"]["headers"]


def test_open311_keeps_the_specs_error_format() -> None:
    for method, path, op in operations("/open311/"):
        answers = op["responses"]
        assert "422" not in answers and {"4XX", "503"} <= set(answers), (method, path)
        errors = answers["4XX"]["content"]["application/json"]["schema"]
        assert errors["items"]["required"] == ["code", "description"]
        assert set(answers["4XX"]["content"]) == {"application/json", "text/xml"}


async def test_text_the_database_cannot_store_is_422(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    """PostgreSQL refuses a NUL character in text: refused like any bad input, nothing kept."""
    headers = token_for(sessions, "supervisor1")
    before = await http.get("/api/v1/directory/people", headers=headers)
    person = {"unit_id": "gl-dept-water\u0000", "name": "张三"}
    refused = await http.post("/api/v1/directory/people", json=person, headers=headers)
    assert refused.status_code == 422 and set(refused.json()) == {
        "detail",
        "field",
        "code",
        "params",
        "errors",
    }
    looked_up = await http.get("/api/v1/cases/T1%00", headers=headers)
    assert looked_up.status_code in (404, 422)  # no such case (SQLite), or not storable (PG)
    after = await http.get("/api/v1/directory/people", headers=headers)
    assert after.json() == before.json()
