"""The citizen's short query code: 8 characters read aloud or typed from a phone screen.

Derived from the ticket under the secret key (an HMAC, like the long tracking token), so
nothing is stored and a retried report answers with the same code. The alphabet leaves out
look-alikes (0/O, 1/I/L); reading is forgiving about case, spaces and dashes. With the ticket
it stands in for the long token: 31^8 ≈ 8.5·10^11 codes per ticket, behind the tracking
rate limit.
"""

from __future__ import annotations

import hmac
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def query_code(secret_key: str, ticket: str) -> str:
    mac = hmac.new(secret_key.encode(), f"code:{ticket}".encode(), "sha256").digest()
    n = int.from_bytes(mac[:8], "big")
    chars = []
    for _ in range(LENGTH):
        n, i = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[i])
    return "".join(chars)


def normalise(value: str) -> str:
    """What a person typed, as a code: upper case, without spaces or dashes; "" if it is none."""
    code = value.replace("-", "").replace(" ", "").upper()
    ok = len(code) == LENGTH and all(c in ALPHABET for c in code)
    return code if ok else ""


def matches(secret_key: str, ticket: str, typed: str) -> bool:
    code = normalise(typed)
    return bool(code) and secrets.compare_digest(code, query_code(secret_key, ticket))


def shown(code: str) -> str:
    """For reading: two groups of four (ABCD-EFGH)."""
    return f"{code[:4]}-{code[4:]}"
