"""The payload codec on its own: encryption, pass-through, key rotation, tampering, settings."""

from __future__ import annotations

import base64

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from core.config import DEV_PAYLOAD_KEYS, Settings
from core.temporal.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    Keyring,
    PayloadDecryptError,
    PayloadKeyError,
    keyring,
    new_key_entry,
    parse_keys,
)
from core.temporal.worker import data_converter

PHONE = "13912345678"
KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()


def plain(text: str) -> Payload:
    return DataConverter.default.payload_converter.to_payloads([text])[0]


def codec(keys: str, current: str) -> EncryptionCodec:
    return EncryptionCodec(Keyring(parse_keys(keys), current))


async def test_a_payload_is_encrypted_whole_and_comes_back_the_same() -> None:
    c = codec(f"a:{KEY_A}", "a")
    original = plain(f"来电人 {PHONE}")
    [sealed] = await c.encode([original])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"a"
    assert set(sealed.metadata) == {"encoding", KEY_ID}  # json/plain is inside, not outside
    assert PHONE.encode() not in sealed.SerializeToString()
    [again] = await c.encode([original])
    assert again.data[:12] != sealed.data[:12] and again.data != sealed.data  # fresh nonce
    assert await c.decode([sealed, again]) == [original, original]


async def test_payloads_from_before_the_codec_pass_through_decoding() -> None:
    old = plain("written before encryption")
    assert await codec(f"a:{KEY_A}", "a").decode([old]) == [old]


async def test_rotation_old_payloads_decode_new_ones_use_the_new_key() -> None:
    [under_a] = await codec(f"a:{KEY_A}", "a").encode([plain(PHONE)])
    rotated = codec(f"a:{KEY_A},b:{KEY_B}", "b")  # b encrypts, a still decrypts
    assert await rotated.decode([under_a]) == [plain(PHONE)]
    [under_b] = await rotated.encode([plain(PHONE)])
    assert under_b.metadata[KEY_ID] == b"b"
    retired = codec(f"b:{KEY_B}", "b")  # a dropped too early
    assert await retired.decode([under_b]) == [plain(PHONE)]
    with pytest.raises(PayloadDecryptError, match="key id 'a'"):
        await retired.decode([under_a])


async def test_tampered_or_relabelled_payloads_fail_loudly() -> None:
    both = codec(f"a:{KEY_A},b:{KEY_B}", "a")
    [sealed] = await both.encode([plain(PHONE)])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\x00")
    with pytest.raises(PayloadDecryptError, match="failed authentication"):
        await both.decode([flipped])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"b"}, data=sealed.data)
    with pytest.raises(PayloadDecryptError, match="key id 'b' failed authentication"):
        await both.decode([relabelled])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("", "no key given"),
        (KEY_A, "expected id:base64key"),
        (f"a b:{KEY_A}", "expected id:base64key"),
        ("a:not base64!", r"\(a\): the key is not valid base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "5 bytes; AES needs 16, 24 or 32"),
        (f"a:{KEY_A},a:{KEY_B}", "entry 2: key id 'a' appears twice"),
    ],
)
def test_bad_key_settings_are_refused_naming_the_entry(keys: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message):
        parse_keys(keys)


def test_the_current_key_must_be_one_of_the_keys() -> None:
    with pytest.raises(PayloadKeyError, match="CITYLOOP_PAYLOAD_KEY_ID: 'c' is not among"):
        keyring(Settings(payload_keys=f"a:{KEY_A},b:{KEY_B}", payload_key_id="c"))


def test_production_refuses_to_encrypt_with_the_development_key() -> None:
    assert keyring(Settings()).current == "dev"  # development: the default works
    with pytest.raises(PayloadKeyError, match="production must not encrypt"):
        keyring(Settings(env="production"))
    renamed = DEV_PAYLOAD_KEYS.replace("dev:", "prod:")  # same bytes under another id
    with pytest.raises(PayloadKeyError, match="production must not encrypt"):
        keyring(Settings(env="production", payload_keys=renamed, payload_key_id="prod"))
    # Kept only to decrypt what was written with it: how a deployment rotates away from it.
    leaving = keyring(
        Settings(
            env="production", payload_keys=f"{DEV_PAYLOAD_KEYS},p1:{KEY_A}", payload_key_id="p1"
        )
    )
    assert sorted(leaving.keys) == ["dev", "p1"]


def test_a_new_key_entry_is_a_256_bit_key_the_settings_accept() -> None:
    entry = new_key_entry("k2027")
    assert len(parse_keys(entry)["k2027"]) == 32
    assert new_key_entry("k2027") != entry
    with pytest.raises(PayloadKeyError):
        new_key_entry("no spaces")


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter(Settings())
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"row ({PHONE}) violates a key"), failure)
    assert PHONE.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == f"row ({PHONE}) violates a key"
