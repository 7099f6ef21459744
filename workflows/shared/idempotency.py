"""Idempotency keys of human actions, as Temporal update ids.

A client's `Idempotency-Key` becomes the update id `idem:<user>:<key>#<fingerprint>`, where the
fingerprint digests the action and its body. Temporal answers a repeated update id with the
first update's outcome, so a retry never acts twice; the same key sent with another body makes
another id, which the workflow refuses because it remembers each key's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "idem:"


def fingerprint(action: str, body: dict[str, Any]) -> str:
    """A short digest of what the request asks for (canonical JSON)."""
    canonical = json.dumps(
        [action, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def update_id(username: str, key: str, digest: str) -> str:
    return f"{PREFIX}{username}:{key}#{digest}"


def parse(update_id: str | None) -> tuple[str, str]:
    """(scoped key, fingerprint) of an idempotent update id; ("", "") for any other id."""
    if not update_id or not update_id.startswith(PREFIX) or "#" not in update_id:
        return "", ""
    scoped, _, digest = update_id.rpartition("#")
    return scoped, digest
