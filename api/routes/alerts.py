"""JSON API for sensors: `POST /alerts`, authenticated by the device's own token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.deps import bearer_holder, get_intake
from api.errors import FORBIDDEN, RATE_LIMITED
from core.intake.devices import device_for_token
from core.intake.service import AlarmIn, IntakeService
from core.models import Device
from core.security.ratelimit import bearer_credential, rate_limit

router = APIRouter(tags=["sensors"])
_bearer = HTTPBearer(auto_error=False)


def get_device(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Device:
    return bearer_holder(request, creds, device_for_token, "device token")


class AlarmOut(BaseModel):
    ticket: str
    signal_count: int
    new_case: bool
    status: str


@router.post(
    "/alerts",
    response_model=AlarmOut,
    status_code=200,
    responses={
        201: {"model": AlarmOut, "description": "this alarm opened a case"},
        **FORBIDDEN,
        **RATE_LIMITED,
    },
    dependencies=[Depends(rate_limit("alerts", bearer_credential))],
)
async def post_alert(
    body: AlarmIn,
    device: Annotated[Device, Depends(get_device)],
    intake: Annotated[IntakeService, Depends(get_intake)],
    response: Response,
) -> AlarmOut:
    """One alarm. Alarms of one device and type within the window join one open case as
    signals (201 when this alarm opened the case, 200 when it joined)."""
    if body.device_id != device.id:
        raise HTTPException(403, f"the token belongs to device {device.id}, not {body.device_id}")
    result = await intake.receive_alarm(device, body)
    response.status_code = 201 if result.new_case else 200
    return AlarmOut(**result.__dict__)
