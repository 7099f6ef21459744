"""`/docs`: Swagger UI from the app's own static files (web/static/swagger), nothing from a CDN.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script; this
one runs under the strict CSP of api/headers.py, in production too.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - API docs</title>
  <link rel="icon" href="/static/swagger/favicon-32x32.png">
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
  <script src="/static/swagger/swagger-ui-bundle.js" defer></script>
  <script src="/static/swagger/init.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document."""
    app = request.app
    return HTMLResponse(
        PAGE.format(title=escape(app.title), openapi_url=escape(app.openapi_url or ""))
    )
