"""Abuse limits: requests per endpoint, and failed logins per user and per address.

Counts live in the process's memory (`limits`' moving windows): one web process keeps exact
counts; several processes each keep their own, so the effective limit is the setting times
the number of processes (a shared `limits` storage such as Redis would make them one; see
docs/security.md). Keys are client addresses as the ASGI server reports them, which behind
a reverse proxy means uvicorn's `--forwarded-allow-ips` must name the proxy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from core.config import Settings
from core.security.tokens import token_digest


class RateLimited(Exception):
    """Too many requests: try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests: retry after {retry_after} s")
        self.retry_after = retry_after


class _Windows:
    """Moving windows over one in-memory storage."""

    def __init__(self) -> None:
        self.strategy = MovingWindowRateLimiter(MemoryStorage())

    def wait(self, items: Sequence[RateLimitItem], *key: str) -> int:
        """Seconds until `key` may go again under every item (0: now)."""
        waits = [
            self.strategy.get_window_stats(item, *key).reset_time - time.time()
            for item in items
            if not self.strategy.test(item, *key)
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def hit(self, items: Sequence[RateLimitItem], *key: str) -> None:
        for item in items:
            self.strategy.hit(item, *key)


class RateLimiter:
    """The per-endpoint limits of `Settings.rate_limits`, counted per key."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.rules = {name: parse_many(text) for name, text in settings.rate_limits.items()}
        self.windows = _Windows()

    def check(self, name: str, key: str) -> None:
        """Count one request of endpoint `name` by `key`; raise RateLimited when the key is
        over the limit (the refused request is not counted)."""
        if not self.enabled:
            return
        items = self.rules[name]
        if wait := self.windows.wait(items, name, key):
            raise RateLimited(wait)
        self.windows.hit(items, name, key)


class LoginThrottle:
    """Failed logins per user name and per client address; success clears the user's."""

    def __init__(self, settings: Settings) -> None:
        self.per_user = parse_many(settings.login_failures_per_user)
        self.per_address = parse_many(settings.login_failures_per_address)
        self.windows = _Windows()

    def wait(self, username: str, address: str) -> int:
        """Seconds before this user name or address may try again (0: now)."""
        return max(
            self.windows.wait(self.per_user, "user", _user_key(username)),
            self.windows.wait(self.per_address, "address", address),
        )

    def failed(self, username: str, address: str) -> None:
        self.windows.hit(self.per_user, "user", _user_key(username))
        self.windows.hit(self.per_address, "address", address)

    def succeeded(self, username: str) -> None:
        for item in self.per_user:
            self.windows.strategy.clear(item, "user", _user_key(username))


def _user_key(username: str) -> str:
    # Unknown and known names count alike, so the throttle tells no one which names exist.
    return username.strip().casefold()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


Credential = Callable[[Request], Awaitable[str | None]]


def rate_limit(name: str, credential: Credential | None = None) -> Callable[..., Awaitable[None]]:
    """A dependency counting a request of endpoint `name` per client address and, when the
    request carries one, per credential (device token, api_key): raises RateLimited."""

    async def check(request: Request) -> None:
        limiter: RateLimiter = request.app.state.limiter
        limiter.check(name, client_address(request))  # before anything reads the body
        if credential is not None and (secret := await credential(request)):
            limiter.check(name, "credential:" + token_digest(secret))

    return check


async def bearer_credential(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
