"""Integers from outside, bounded before they reach SQL: one place for every route and body.

A value past 64 bits (`page=9223372036854775807`, `/inbox/99999999999999999999/read`) used
to reach the database driver and fail there as a 500. These types refuse it with 422 first,
in FastAPI path and query parameters and in request bodies alike (pydantic constraints, so
the OpenAPI shows the bounds too).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Every id column is an INTEGER, 32 bits in PostgreSQL: no row has an id past this.
SQL_INT_MAX = 2**31 - 1
MAX_PAGE_SIZE = 200
# Pages past this hold nothing anyone reads; (MAX_PAGE - 1) * MAX_PAGE_SIZE fits any OFFSET.
MAX_PAGE = 1_000_000

RowId = Annotated[int, Field(ge=1, le=SQL_INT_MAX, description="a row's id")]
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, description="1 is the first page")]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
Count = Annotated[int, Field(ge=0, le=SQL_INT_MAX)]
