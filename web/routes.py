"""The HTMX web UI (zh-CN): one router made of each domain's router."""

from __future__ import annotations

from fastapi import APIRouter

from web.attachments.routes import router as attachments
from web.auth.routes import router as auth
from web.cases.reset import router as case_reset
from web.cases.routes import router as cases
from web.directory.routes import router as directory
from web.intake.routes import router as intake
from web.map.routes import router as map_pages
from web.privacy.routes import router as privacy
from web.public.routes import router as public
from web.stats.accountability import router as accountability
from web.stats.overview import router as overview
from web.stats.routes import router as stats
from web.supervision.routes import router as supervision
from web.templating import STATIC_DIR, TEMPLATES_DIR
from web.whistles.routes import router as whistles
from workflows import registry

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(auth)
# Before the case pages: /cases/new and /cases/suggest would otherwise be taken for tickets.
router.include_router(intake)
router.include_router(cases)
router.include_router(case_reset)
router.include_router(supervision)
router.include_router(whistles)
router.include_router(directory)
router.include_router(privacy)
router.include_router(attachments)
router.include_router(map_pages)
router.include_router(public)
for case_type in registry.all_types():  # each registered type's own pages
    if case_type.pages:
        router.include_router(registry.load(case_type.pages))
router.include_router(stats)
router.include_router(overview)
router.include_router(accountability)
