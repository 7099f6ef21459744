"""What operators and their probes ask: liveness, readiness and Prometheus metrics.

No authentication (a probe has no token) and no place in the OpenAPI schema; the README's
Operations section documents them. The answers say nothing a caller could misuse: which
dependency is down, never why.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from core.errors import RETRY_AFTER_S
from core.health import check_database, check_temporal

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving; nothing else is asked."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Temporal and the database both answer within the readiness timeout, else 503."""
    state = request.app.state
    timeout = state.settings.readiness_timeout_seconds
    temporal, database = await asyncio.gather(
        check_temporal(state.temporal, timeout), check_database(state.engine, timeout)
    )
    checks = {"temporal": temporal, "database": database}
    failed = sorted(name for name, result in checks.items() if result != "ok")
    if not failed:
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "unavailable", "failed": failed, "checks": checks},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus text format: the app's counters and histograms and Temporal's client metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
