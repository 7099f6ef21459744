"""Security headers on every kind of response, HSTS only in production, `/docs` from the app's
own files, and templates that a strict CSP can run (no inline script, handler or style)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.headers import CSP
from core.config import Settings
from tests.conftest import PRODUCTION, app_client, make_settings
from web.templating import STATIC_DIR, TEMPLATE_DIRS, TEMPLATES_DIR, WEB_DIR

ASYNC = pytest.mark.asyncio(loop_scope="session")
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)

PATHS = [
    "/login",  # a page
    "/report",  # a public page
    "/static/app.css",  # a static file
    "/api/v1/cases",  # JSON, 401
    "/open311/v2/services.xml",  # Open311 XML
    "/no-such-page",  # 404
    "/docs",
    "/openapi.json",
]


@ASYNC
async def test_every_response_carries_the_headers_and_hsts_only_in_production(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    settings: Settings = make_settings(sqlite_db, dev_env.client, task_queue)
    for production in (False, True):
        if production:
            settings = settings.model_copy(update=PRODUCTION)
        async with app_client(settings, dev_env.client) as (_app, http):
            for path in PATHS:
                answer = await http.get(path)
                headers = answer.headers
                assert headers["content-security-policy"] == CSP, path
                assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
                assert headers["x-content-type-options"] == "nosniff", path
                assert headers["referrer-policy"] == "same-origin", path
                assert headers["x-frame-options"] == "DENY", path
                hsts = headers.get("strict-transport-security")
                assert hsts == ("max-age=31536000; includeSubDomains" if production else None)


@ASYNC
async def test_docs_load_swagger_from_the_app_and_redoc_is_gone(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    settings = make_settings(sqlite_db, dev_env.client, task_queue)
    async with app_client(settings, dev_env.client) as (_app, http):
        docs = await http.get("/docs")
        assert docs.status_code == 200
        loaded = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert loaded and all(url.startswith("/static/swagger/") for url in loaded), loaded
        assert "<script>" not in docs.text  # started by init.js, not inline
        for url in loaded:
            asset = await http.get(url)
            assert asset.status_code == 200 and len(asset.content) > 100, url
        assert (await http.get("/redoc")).status_code == 404


# ---- templates a strict CSP can run ----------------------------------------------------------
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on*= handler"),
    (re.compile(r"\shx-on[:\-]", re.I), "an hx-on attribute (htmx evaluates it)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\bhx-vals\s*=\s*['\"]\s*js:", re.I), "hx-vals with js:"),
    (re.compile(r"https?://(?!www\.w3\.org)", re.I), "something loaded from another origin"),
]


def test_no_template_needs_inline_script_or_style() -> None:
    found = []
    templates = sorted(t for folder in TEMPLATE_DIRS for t in folder.rglob("*.html"))
    assert len(templates) > 20
    for template in templates:
        text = JINJA_COMMENT.sub("", template.read_text())
        found += [
            f"{template.relative_to(WEB_DIR)}: {what}"
            for pattern, what in INLINE
            if pattern.search(text)
        ]
    assert found == []


def test_htmx_is_told_to_add_no_inline_style_and_eval_nothing() -> None:
    base = (TEMPLATES_DIR / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base and '"allowEval": false' in base
    css = (STATIC_DIR / "app.css").read_text()
    assert ".htmx-indicator" in css  # the rules htmx would otherwise inject


def test_the_vendored_swagger_ui_is_complete() -> None:
    swagger = Path(STATIC_DIR, "swagger")
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "LICENSE"):
        assert (swagger / name).stat().st_size > 100, name
