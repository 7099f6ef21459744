"""A page shown again with a refusal inline: the error beside the form that failed, what was
typed kept, 200 for htmx and the refusal's own status for plain posts (web/templating.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from core.cases.service import CaseService
from core.errors import CaseError
from core.models import User
from web import labels
from web.layout import error_page, layout_context
from web.templating import error_status, render


def summary(err: ValidationError | CaseError) -> str:
    """The refusal in one line of Chinese, field by field."""
    return labels.error_summary(labels.field_errors(err))


async def page_again(
    request: Request,
    cases: CaseService,
    user: User,
    err: ValidationError | CaseError,
    page: Awaitable[dict[str, Any]],
    template: str,
    *,
    block: str,
    **shown: Any,
) -> Response:
    """`template`'s `block` over `page`'s context and the layout's, with `shown` (the error and
    the values typed) on top; the error page if the page itself is gone or hidden now."""
    try:
        context = await page
    except CaseError as missing:
        return error_page(request, cases, user, missing)
    context.update(layout_context(cases, user))
    context.update(shown)
    status = err.status if isinstance(err, CaseError) else 422
    return render(request, template, context, block=block, status=error_status(request, status))
