"""The HTMX web UI (zh-CN): one router made of a sub-router per domain."""

from __future__ import annotations

from fastapi import APIRouter

from web.routes import (
    attachments,
    auth,
    cases,
    data_views,
    directory,
    inbox,
    overrides,
    patrol,
    public,
    whistles,
)
from web.templating import STATIC_DIR, TEMPLATES_DIR

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(cases.router)
router.include_router(inbox.router)
router.include_router(overrides.router)
router.include_router(whistles.router)
router.include_router(directory.router)
router.include_router(data_views.router)
router.include_router(attachments.router)
router.include_router(public.router)
router.include_router(patrol.router)
