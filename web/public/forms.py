"""From the citizen's posted report to the intake's request model."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from core.cases.service import CaseError, IntakeRequest
from web import formdata

TITLE_LENGTH = 30  # a citizen writes no title: the description's start serves


@dataclass
class ReportForm:
    values: dict[str, str] = field(default_factory=dict)
    shas: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def posted_report(form: FormData) -> ReportForm:
    names = ("category", "description", "lat", "lon", "address", "reporter_name")
    more = ("reporter_phone", "reporter_email", "publish")
    values = {name: formdata.text(form, name) for name in (*names, *more)}
    shas = [s for s in form.getlist("attachments") if isinstance(s, str) and s]
    return ReportForm(values=values, shas=list(dict.fromkeys(shas)))


def intake_request(report: ReportForm) -> IntakeRequest:
    values = report.values
    description = values["description"]
    if not description:
        raise CaseError(422, "describe the problem", "description", code="description_needed")
    return IntakeRequest.model_validate(
        {
            "title": " ".join(description.split())[:TITLE_LENGTH],
            "description": description,
            "category": values["category"],
            "lat": _coordinate(values["lat"]),
            "lon": _coordinate(values["lon"]),
            "address": values["address"],
            "reporter_name": values["reporter_name"],
            "reporter_phone": values["reporter_phone"],
            "reporter_email": values["reporter_email"],
            "attachments": report.shas,
            "channel": "citizen",
            "duplicates": "auto",  # nobody to ask: merge only into a certain duplicate
            "publish": values["publish"] == "yes",  # the box, unticked unless they tick it
        }
    )


def _coordinate(text: str) -> str | None:
    """A typed coordinate, forgiving full-width digits and a degree sign; "" is none."""
    text = unicodedata.normalize("NFKC", text).replace("°", "").strip()
    return text or None
