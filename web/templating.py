"""Jinja2 (with jinja2-fragments) for the web UI: the environment, zh-CN labels and `render`.

A page template names its swappable parts as blocks; `render` returns the whole page, or just
one block when htmx asks to swap part of a page (STYLE rule 15).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from web.labels import (
    ACTION_NAMES,
    BAR_ACTIONS,
    CONFIRMATIONS,
    EVENT_NAMES,
    INSTANT_ACTIONS,
    OUTCOME_NAMES,
    OVERRIDE_ACTIONS,
    PRIMARY_ACTION_NAMES,
    PRIORITY_NAMES,
    QUEUE_TAB_NAMES,
    RATING_NAMES,
    REASON_LABELS,
    ROLE_NAMES,
    ROUND_STATUS_NAMES,
    STAGE_NAMES,
    STATE_NAMES,
    WHISTLE_STEP_NAMES,
    countdown,
)
from web.sessions import web_session
from workflows import registry
from workflows.case.transitions import MAX_EXTENSION_HOURS
from workflows.contracts import PRIORITIES
from workflows.shared.workcal import CST

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"  # shared by every domain: base, macros, error, attachments
# Each domain package keeps its pages in its own templates/, named "<domain>/<file>" (a new
# domain's templates are found without a line here).
DOMAIN_TEMPLATES = {path.parent.name: path for path in sorted(WEB_DIR.glob("*/templates"))}
TEMPLATE_DIRS = [TEMPLATES_DIR, *DOMAIN_TEMPLATES.values()]


def china_time(value: datetime | str | None) -> str:
    """A UTC instant as China time (UTC+8); SQLite hands back naive datetimes, which are UTC.

    Event payloads keep instants as ISO strings, so those are accepted too.
    """
    if isinstance(value, str):
        if not value:
            return "—"
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal; "—" when there was nothing to count."""
    return "—" if value is None else f"{value * 100:.1f}%"


def minutes(value: float | None) -> str:
    """A duration in minutes as 天/小时/分钟 (whole minutes); "—" when there is none."""
    if value is None:
        return "—"
    days, rest = divmod(round(value), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, "天"), (hours, "小时"), (mins, "分钟")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0分钟"


def ticket_of(case_id: str) -> str:
    """The ticket in a case's workflow id (bulk outcomes name cases by workflow id)."""
    return case_id.removeprefix(registry.CITY_EVENT.id_prefix)


def is_past(value: datetime | None) -> bool:
    if value is None:
        return False
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware < datetime.now(UTC)


def _loader() -> jinja2.BaseLoader:
    """The shared templates by their own names, a domain's as "<domain>/<file>"."""
    domains = {name: jinja2.FileSystemLoader(path) for name, path in DOMAIN_TEMPLATES.items()}
    shared = jinja2.FileSystemLoader(TEMPLATES_DIR)
    return jinja2.ChoiceLoader([shared, jinja2.PrefixLoader(domains)])


def _environment() -> jinja2.Environment:
    # Autoescape for every template whatever its extension: user text is never trusted.
    env = jinja2.Environment(
        loader=_loader(),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["china_time"] = china_time
    env.filters["ticket_of"] = ticket_of
    env.filters["percent"] = percent
    env.filters["minutes"] = minutes
    env.tests["past"] = is_past
    env.globals.update(
        STATE_NAMES={s.value: n for s, n in STATE_NAMES.items()},
        QUEUE_TAB_NAMES={t.value: n for t, n in QUEUE_TAB_NAMES.items()},
        countdown=countdown,
        INSTANT_ACTIONS=frozenset(a.value for a in INSTANT_ACTIONS),
        BAR_ACTIONS=[a.value for a in BAR_ACTIONS],
        PRIMARY_ACTION_NAMES={a.value: n for a, n in PRIMARY_ACTION_NAMES.items()},
        CONFIRMATIONS={a.value: n for a, n in CONFIRMATIONS.items()},
        EVENT_NAMES=EVENT_NAMES,
        ROLE_NAMES=ROLE_NAMES,
        STAGE_NAMES=STAGE_NAMES,
        RATING_NAMES=RATING_NAMES,
        OUTCOME_NAMES=OUTCOME_NAMES,
        PRIORITY_NAMES=PRIORITY_NAMES,
        ACTION_NAMES={a.value: n for a, n in ACTION_NAMES.items()},
        OVERRIDE_ACTIONS=frozenset(a.value for a in OVERRIDE_ACTIONS),
        PRIORITIES=PRIORITIES,
        MAX_EXTENSION_HOURS=MAX_EXTENSION_HOURS,
        ROUND_STATUS_NAMES=ROUND_STATUS_NAMES,
        REASON_LABELS=REASON_LABELS,
        WHISTLE_STEP_NAMES=WHISTLE_STEP_NAMES,
        # Each rendered form gets its own Idempotency-Key: a double submit or a refresh that
        # posts again acts once (issue 9).
        new_key=lambda: uuid.uuid4().hex,
    )
    return env


templates = Jinja2Blocks(env=_environment())


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    """htmx swapping part of a page; boosted navigation and history restores need the page."""
    headers = request.headers
    return (
        is_htmx(request)
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def error_status(request: Request, status: int) -> int:
    """The status for a re-rendered form or block that shows an error inline.

    htmx 2 swaps no 4xx response by default. Rather than widen `htmx.config.responseHandling`
    (which would also paint CSRF refusals and crashes into the page), htmx requests get 200 with
    the error in the fragment; browsers without JavaScript and other clients get the real code.
    """
    return 200 if is_htmx(request) else status


def csrf_token(request: Request) -> str:
    """The session's CSRF token (before login too: the login form needs it)."""
    return web_session(request).csrf_token()


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str,
    status: int = 200,
) -> Response:
    """Render page `name`, or only its `block` when htmx swaps part of the page."""
    context = {"csrf_token": csrf_token(request), "user": None, **context}
    if wants_fragment(request):
        response = templates.TemplateResponse(
            request, name, context, status_code=status, block_name=block
        )
    else:
        response = templates.TemplateResponse(request, name, context, status_code=status)
    # Caches must not hand a fragment to a full-page load or the other way round.
    response.headers.add_vary_header("HX-Request")
    response.headers.add_vary_header("HX-Boosted")
    return response


def redirect(request: Request, url: str) -> Response:
    """See other: `HX-Redirect` for htmx (a full load, fresh layout), 303 for plain browsers."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
