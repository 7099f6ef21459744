"""An API client that behaves like a real one: it times out, and it retries timeouts, lost
connections and 5xx answers with the same Idempotency-Key, backing off as `Retry-After` asks.

A one-shot client (`Retries.none()`) sends each call once and reports what came of it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

NO_ANSWER = 0  # the status of a call that never got one (timeout, lost connection)
NO_RETRY_AFTER = "503 without Retry-After"


@dataclass(frozen=True)
class Retries:
    """How long and how patiently a call is retried."""

    attempts: int = 1000
    give_up_after: float = 180.0  # seconds from the first attempt
    first_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 10.0  # a server asking for longer is waited for only this long

    @classmethod
    def none(cls) -> Retries:
        return cls(attempts=1)


@dataclass
class Answer:
    """The end of one call: the last status (NO_ANSWER if none came) and every attempt's."""

    status: int
    body: Any = None
    attempts: list[str] = field(default_factory=list)  # "201", "503", "timeout", "connect", …

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        """A definite no: the server understood and said it will not (4xx)."""
        return 400 <= self.status < 500


class ApiClient:
    """POSTs to the JSON API as one of the demo users, keyed and retried."""

    def __init__(
        self, base_url: str, tokens: dict[str, str], *, timeout: float, retries: Retries
    ) -> None:
        self.tokens, self.retries = tokens, retries
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)
        self.statuses: Counter[str] = Counter()  # every attempt of every call, by outcome
        self.abandoned = 0  # calls given up on with no final answer, retries spent

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post(self, path: str, body: dict[str, Any], user: str, *, key: str = "") -> Answer:
        """POST until a final answer, or until the retry budget is spent."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if key:
            headers["Idempotency-Key"] = key
        answer, started, delay = Answer(NO_ANSWER), time.monotonic(), self.retries.first_delay
        for attempt in range(1, self.retries.attempts + 1):
            wait = await self._attempt(path, body, headers, answer)
            if wait is None:
                return answer
            if attempt == self.retries.attempts:
                break
            if time.monotonic() - started >= self.retries.give_up_after:
                break
            await asyncio.sleep(wait if wait > 0 else delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.retries.max_delay)
        if self.retries.attempts > 1:
            self.abandoned += 1  # a one-shot client gives up by design, not for want of time
        return answer

    async def _attempt(
        self, path: str, body: dict[str, Any], headers: dict[str, str], answer: Answer
    ) -> float | None:
        """One attempt, recorded in `answer`. Returns None when the answer is final, else
        the wait the server asked for (0: back off as usual)."""
        try:
            response = await self._http.post(path, json=body, headers=headers)
        except httpx.TimeoutException:
            return self._note(answer, "timeout", NO_ANSWER, None, wait=0.0)
        except httpx.TransportError:
            return self._note(answer, "connect", NO_ANSWER, None, wait=0.0)
        final = not _retryable(response)
        wait = None if final else _retry_after(response, self.retries.max_retry_after)
        status = response.status_code
        if status == 503 and "retry-after" not in response.headers:
            self.statuses[NO_RETRY_AFTER] += 1  # a 503 must say when to come back
        return self._note(answer, str(status), status, _json(response), wait=wait)

    def _note(
        self, answer: Answer, outcome: str, status: int, body: Any, *, wait: float | None
    ) -> float | None:
        answer.attempts.append(outcome)
        answer.status, answer.body = status, body
        self.statuses[outcome] += 1
        return wait


def _retryable(response: httpx.Response) -> bool:
    """5xx, and any answer that says when to come back (409/429 while the first is in flight)."""
    return response.status_code >= 500 or "retry-after" in response.headers


def _retry_after(response: httpx.Response, cap: float) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "0")), 0.0), cap)
    except ValueError:
        return 0.0  # an HTTP date: back off as usual


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
