"""One definition for the field lists a state, an input and a read-model row share.

`derive(Row, state, id=state.case_id)` builds `Row` from the fields `state` has of the same
name, with the given values for the rest or instead: a field added to both travels through
without a second list typed out by hand.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def derive(cls: type[T], source: Any, *, skip: tuple[str, ...] = (), **values: Any) -> T:
    """`cls(**values)`, its other fields copied from `source`'s fields of the same name.

    Args:
        cls: the dataclass to build.
        source: a dataclass instance whose same-named fields fill the rest.
        skip: same-named fields left to their defaults in `cls`.
        values: fields set explicitly (they win over `source`).
    """
    wanted = {f.name for f in dataclasses.fields(cls)} - set(values) - set(skip)  # type: ignore[arg-type]
    shared = {
        f.name: getattr(source, f.name) for f in dataclasses.fields(source) if f.name in wanted
    }
    return cls(**shared, **values)
