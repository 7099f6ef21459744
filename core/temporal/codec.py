"""The Temporal payload codec: every payload leaves the process AES-GCM encrypted.

Workflow inputs, update arguments, activity inputs, query and update results all travel as
Temporal payloads and are kept in history, which the Temporal Web UI and CLI show to anyone
who reaches the server. The codec encrypts each payload whole (its metadata and data) under
the current key of a keyring, with a random 96-bit nonce, and names the key in the encrypted
payload's metadata so an older key can still decrypt after a rotation (docs/codec.md).

Payloads that are not encrypted pass through decoding untouched: histories recorded before
the codec (tests/histories/, cases started before it was switched on) keep replaying.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.config import DEV_PAYLOAD_KEYS, Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12  # 96 bits: the size GCM is specified for
KEY_BYTES = (16, 24, 32)  # AES-128/192/256; `cityloop payload-key` makes 256-bit keys
_KEY_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,32}")


class PayloadKeyError(ValueError):
    """The keyring settings are unusable: names the setting and why."""


class PayloadDecryptError(ValueError):
    """An encrypted payload cannot be decrypted: names the key id it asks for and why."""


@dataclass(frozen=True)
class Keyring:
    """The keys that may decrypt, by id, and the id of the one that encrypts."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise PayloadKeyError(
                f"CITYLOOP_PAYLOAD_KEY_ID: {self.current!r} is not among the ids in "
                f"CITYLOOP_PAYLOAD_KEYS ({', '.join(sorted(self.keys))})"
            )


def parse_keys(text: str) -> dict[str, bytes]:
    """Parse `id:base64key,id:base64key` (the CITYLOOP_PAYLOAD_KEYS format).

    Raises:
        PayloadKeyError: Naming the entry that is malformed and how.
    """
    keys: dict[str, bytes] = {}
    for n, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
        key_id, sep, encoded = entry.partition(":")
        where = f"CITYLOOP_PAYLOAD_KEYS entry {n}"
        if not sep or not _KEY_ID_SHAPE.fullmatch(key_id):
            raise PayloadKeyError(f"{where}: expected id:base64key, id of 1-32 [A-Za-z0-9._-]")
        if key_id in keys:
            raise PayloadKeyError(f"{where}: key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"{where} ({key_id}): the key is not valid base64") from None
        if len(key) not in KEY_BYTES:
            raise PayloadKeyError(
                f"{where} ({key_id}): the key has {len(key)} bytes; AES needs 16, 24 or 32"
            )
        keys[key_id] = key
    if not keys:
        raise PayloadKeyError("CITYLOOP_PAYLOAD_KEYS: no key given")
    return keys


def keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe; production refuses to encrypt with the dev key.

    The development key is public (it is in the source), so encrypting with it protects
    nothing. Production may keep it among the decrypting keys, which is how a deployment
    that started with it rotates away (docs/codec.md).
    """
    ring = Keyring(parse_keys(settings.payload_keys), settings.payload_key_id)
    if settings.is_production and ring.keys[ring.current] in parse_keys(DEV_PAYLOAD_KEYS).values():
        raise PayloadKeyError(
            "CITYLOOP_PAYLOAD_KEYS / CITYLOOP_PAYLOAD_KEY_ID: production must not encrypt with "
            "the development key; make one with `cityloop payload-key` (docs/codec.md)"
        )
    return ring


def new_key_entry(key_id: str) -> str:
    """A fresh 256-bit key as a CITYLOOP_PAYLOAD_KEYS entry (`id:base64`)."""
    if not _KEY_ID_SHAPE.fullmatch(key_id):
        raise PayloadKeyError(f"key id {key_id!r}: use 1-32 characters of [A-Za-z0-9._-]")
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-GCM over whole payloads; the key id rides in the encrypted payload's metadata."""

    def __init__(self, ring: Keyring) -> None:
        self.current = ring.current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.current.encode()
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated data: a payload relabelled with another id fails.
        sealed = self._ciphers[self.current].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (or by a client without it)
        raw_id = payload.metadata.get(KEY_ID, b"")
        key_id = raw_id.decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            # Loud, never a silent pass-through: a worker would fail the task and retry it
            # until the key is configured again, so nothing is lost.
            raise PayloadDecryptError(
                f"payload encrypted with key id {key_id!r}, which is not in "
                f"CITYLOOP_PAYLOAD_KEYS (known: {', '.join(sorted(self._ciphers))})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, raw_id))
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload under key id {key_id!r} failed authentication: altered or wrong key"
            ) from None


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(keyring(settings))
