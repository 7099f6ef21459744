"""Every stored field is classified (article 20), and docs/privacy.md shows the table as it is."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import SQLModel

import core.models  # noqa: F401  (registers every table)
from core.privacy import classification
from core.privacy.classification import Level, Rule

DOC = Path(__file__).parents[2] / "docs" / "privacy.md"


def columns() -> set[str]:
    return {f"{t.name}.{c.name}" for t in SQLModel.metadata.sorted_tables for c in t.columns}


def test_every_column_of_every_table_is_classified() -> None:
    missing = sorted(columns() - set(classification.FIELDS))
    assert missing == [], f"classify these in core/privacy/classification.py: {missing}"


def test_nothing_classified_is_gone_from_the_tables() -> None:
    """Entries name real columns; only an event payload's keys and a file's content are not."""
    listed = {name for name in classification.FIELDS if "[" not in name}
    assert sorted(listed - columns()) == []


def test_personal_information_is_never_public_and_restricted_views_are_audited() -> None:
    for name, c in classification.FIELDS.items():
        if c.personal:
            assert c.rule is not Rule.PUBLIC, name
        if c.sensitive:
            assert c.personal and c.rule in (Rule.TEXT, Rule.LOCATION, Rule.STAFF), name
        assert c.audited == (c.rule in (Rule.REPORTER, Rule.CONTACT)), name
    assert classification.of("cases.reporter_phone").audited
    assert classification.of("people.phone").rule is Rule.CONTACT
    assert classification.of("cases.tracking_token").rule is Rule.TOKEN
    assert {c.level for c in classification.FIELDS.values()} <= set(Level)


def test_the_docs_show_the_table_as_the_code_has_it() -> None:
    assert classification.markdown() in DOC.read_text(encoding="utf-8")
