"""Security headers on every response: a strict CSP, no framing, no sniffing, HSTS in production.

The CSP allows scripts and styles from this origin only: no inline `<script>`, no `on*=` or
`hx-on` attributes, no `style=` attributes or `<style>` elements (htmx is told not to add its
own, see base.html). `data:` images are the public form's upload previews; a map tile server,
where one is configured, is the one other origin images may come from.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def tile_origin(tile_url: str) -> list[str]:
    """The CSP source of a tile template, "https://t{s}.tianditu.gov.cn/…" giving
    "https://*.tianditu.gov.cn": a placeholder in the host stands for Leaflet's subdomains."""
    parts = urlsplit(tile_url)
    if not parts.netloc:
        return []
    first, _, rest = parts.netloc.partition(".")
    host = f"*.{rest}" if "{" in first else parts.netloc
    return [f"{parts.scheme}://{host}"]


def content_security_policy(tile_url: str = "") -> str:
    """The CSP; `tile_url` (a map tile template) adds its origin to `img-src`."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(["img-src 'self' data:", *tile_origin(tile_url)]),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CSP = content_security_policy()


HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",  # for browsers that predate frame-ancestors
    "referrer-policy": "same-origin",  # tracking links carry their token in the query
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(self)",
}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds HEADERS (and HSTS when `hsts`) to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool, tile_url: str = "") -> None:
        self.app = app
        csp = {"content-security-policy": content_security_policy(tile_url)}
        self.headers = {**HEADERS, **csp, **({"strict-transport-security": HSTS} if hsts else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
