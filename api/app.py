"""The ASGI app: JSON API under /api/v1, the HTMX UI at /, static files at /static."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import errors
from api.headers import SecurityHeadersMiddleware
from api.routes import alerts as alert_routes
from api.routes import attachments as attachment_routes
from api.routes import case_types as case_type_routes
from api.routes import cases as case_routes
from api.routes import codec, docs, open311
from api.routes import data_views as data_view_routes
from api.routes import directory as directory_routes
from api.routes import inbox as inbox_routes
from api.routes import notify as notify_routes
from api.routes import operations as operation_routes
from api.routes import overrides as override_routes
from api.routes import reports as report_routes
from api.routes import resets as reset_routes
from api.routes import routing as routing_routes
from api.routes import stats as stats_routes
from api.routes import whistles as whistle_routes
from core.cases.service import CaseService
from core.cases.types import CaseTypes
from core.config import Settings, check_production
from core.db import make_engine, session_factory
from core.intake.geo import boundaries
from core.intake.service import IntakeService
from core.metrics import client_runtime
from core.privacy import masking as privacy
from core.security.ratelimit import LoginThrottle, RateLimiter
from core.security.tokens import TokenCache, dummy_hash
from core.temporal.codec import codec_from_settings
from core.temporal.worker import connect
from web.routes import STATIC_DIR
from web.routes import router as web_router
from web.sessions import WebSessionMiddleware


def create_app(settings: Settings, *, client: Client | None = None) -> FastAPI:
    """Build the app; the Temporal client is connected in the lifespan unless one is given.

    Raises:
        InsecureSettings: in production, with settings production must not run with.
    """
    check_production(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        boundaries(settings.boundaries_file)  # a bad boundaries file fails here, not at intake
        app.state.codec = codec_from_settings(settings)  # /codec/*; refuses a weak key first
        app.state.engine = engine = make_engine(settings.database_url)
        app.state.sessions = session_factory(engine)
        temporal = client or await connect(settings, runtime=client_runtime())
        app.state.temporal = temporal
        app.state.cases = CaseService(temporal, app.state.sessions, settings)
        app.state.intake = IntakeService(app.state.cases)
        app.state.types = CaseTypes(temporal, app.state.sessions, settings, app.state.cases)
        app.state.settings = settings
        app.state.tokens = TokenCache(app.state.sessions, ttl=settings.token_cache_seconds)
        await asyncio.to_thread(dummy_hash)  # made now, so no login pays for it
        yield
        engine.dispose()

    # /docs is served from vendored assets (api/routes/docs.py); ReDoc would load from a CDN.
    app = FastAPI(
        title="cityloop", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.limiter = RateLimiter(settings)
    app.state.login_throttle = LoginThrottle(settings)
    app.add_middleware(WebSessionMiddleware, settings=settings)
    app.add_middleware(
        SecurityHeadersMiddleware, hsts=settings.is_production, tile_url=settings.map_tile_url
    )
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    for routes in (
        case_routes,
        case_type_routes,
        inbox_routes,
        override_routes,
        whistle_routes,
        alert_routes,
        report_routes,
        attachment_routes,
        directory_routes,
        data_view_routes,
        notify_routes,
        routing_routes,
        reset_routes,
        stats_routes,
    ):
        app.include_router(routes.router, prefix="/api/v1", responses=errors.API_RESPONSES)
    app.include_router(open311.router)
    app.include_router(codec.router)
    app.include_router(docs.router)
    app.include_router(operation_routes.router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class RequestIdMiddleware:
    """Bind a request id for the logs and echo it in `x-request-id`.

    Plain ASGI rather than `@app.middleware("http")`, which wraps every response in a
    streaming copy: this sits on every API call's path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex[:16]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        privacy.ROUTE.set(f"{scope['method']} {scope['path']}")  # for the personal-data view log

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)
