"""Sensors (IoT devices) and the tokens they post alarms with."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from core.models import Device
from core.security.tokens import token_digest


def mint_device_token(session: Session, device: Device) -> str:
    """Give `device` a new token (the old one stops working); only its digest is stored."""
    token = "dv_" + secrets.token_urlsafe(32)
    device.token_hash = token_digest(token)
    session.add(device)
    return token


def device_for_token(session: Session, token: str) -> Device | None:
    query = select(Device).where(Device.token_hash == token_digest(token), Device.active)
    return session.exec(query).first()


def unusable_token_hash() -> str:
    """A digest no token has: a device is seeded without a usable token until one is minted."""
    return "unset-" + secrets.token_hex(16)
