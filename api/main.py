"""The ASGI app: JSON API under /api/v1, the HTMX UI at /, static files at /static."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api.routes import cases as case_routes
from api.routes import inbox as inbox_routes
from api.routes import overrides as override_routes
from core.cases import CaseError, CaseService
from core.config import Settings
from core.db import make_engine, session_factory
from core.temporal import connect
from web.routes import STATIC_DIR
from web.routes import router as web_router


def create_app(settings: Settings, *, client: Client | None = None) -> FastAPI:
    """Build the app; the Temporal client is connected in the lifespan unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.sessions = session_factory(engine)
        temporal = client or await connect(settings)
        app.state.cases = CaseService(temporal, app.state.sessions, settings)
        app.state.settings = settings
        yield
        engine.dispose()

    app = FastAPI(title="cityloop", version="0.1.0", lifespan=lifespan)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, same_site="lax")
    app.middleware("http")(_bind_request_id)
    app.add_exception_handler(CaseError, _case_error)  # type: ignore[arg-type]
    for routes in (case_routes, inbox_routes, override_routes):
        app.include_router(routes.router, prefix="/api/v1")
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _bind_request_id(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    response = await call_next(request)
    response.headers["x-request-id"] = request_id
    return response


async def _case_error(request: Request, exc: CaseError) -> Response:
    """JSON for everyone; web routes catch CaseError themselves to show it inline."""
    return JSONResponse({"detail": exc.reason, "field": exc.field}, status_code=exc.status)
