"""Every refusal code raised anywhere has Chinese text in the one catalogue, web/labels.py.

The codes are read from the source: the second argument of each `Rejection(...)` (workflow
rules) and the `code=` of each `CaseError(...)` (services and routes; a subclass's
`super().__init__`), literals only.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

from core.errors import CaseError
from web import labels
from workflows.shared.rejection import Rejection, from_error

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("workflows", "activities", "api", "web", "core")


def _calls(*names: str) -> Iterator[tuple[str, ast.Call]]:
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and ast.unparse(node.func) in names:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _literals(node: ast.expr | None) -> list[str]:
    """The string constants an argument may evaluate to (a literal, or either side of an if)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _code_of(call: ast.Call, position: int) -> ast.expr | None:
    named = [k.value for k in call.keywords if k.arg == "code"]
    if named:
        return named[0]
    return call.args[position] if len(call.args) > position else None


def raised_codes() -> dict[str, list[str]]:
    """Each code raised in the source, with where."""
    found: dict[str, list[str]] = {}
    for where, call in _calls("Rejection"):
        if where.startswith("workflows/shared/rejection.py"):
            continue  # from_error rebuilds a rejection it received
        codes = _literals(_code_of(call, 1))
        assert codes, f"{where}: a Rejection's code must be a literal"
        for code in codes:
            found.setdefault(code, []).append(where)
    for where, call in _calls("CaseError", "super().__init__"):  # and its subclasses
        for code in _literals(_code_of(call, 99)):
            found.setdefault(code, []).append(where)
    return found


def test_every_raised_code_has_chinese_text() -> None:
    codes = raised_codes()
    assert len(codes) > 80  # the walk finds them (a broken walk would pass vacuously)
    missing = {code: where for code, where in codes.items() if code not in labels.REFUSALS}
    assert missing == {}


def _param_names(call: ast.Call, position: int) -> set[str] | None:
    """The keys of the params a call sends (a dict literal), or None when they are computed."""
    named = [k.value for k in call.keywords if k.arg == "params"]
    node = named[0] if named else (call.args[position] if len(call.args) > position else None)
    if node is None:
        return set()
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}
    return None


def test_every_raise_sends_the_params_its_text_names() -> None:
    calls = [(w, c, 1, 4) for w, c in _calls("Rejection")]
    calls += [(w, c, 99, 99) for w, c in _calls("CaseError", "super().__init__")]
    for where, call, code_at, params_at in calls:
        sent = _param_names(call, params_at)
        for code in _literals(_code_of(call, code_at)):
            text = labels.REFUSALS.get(code, "")
            wanted = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            assert sent is None or wanted <= sent, f"{where}: {code} needs {wanted - sent}"


def test_the_catalogue_holds_no_code_nobody_raises() -> None:
    assert set(labels.REFUSALS) - set(raised_codes()) == set()


def test_a_refusal_reads_by_code_with_its_params() -> None:
    hours = Rejection("invalid", "hours_range", "hours…", "hours", {"max": 72})
    assert labels.refusal_text(CaseError.of(hours)) == "须在 1 到 72 小时之间"
    # actions and statuses read by their Chinese names
    status = Rejection(
        "conflict", "wrong_status", "…", params={"action": "accept", "status": "CLOSED"}
    )
    assert labels.refusal_text(CaseError.of(status)) == "工单当前状态不允许此操作（结案时不能签收）"


def test_a_rejection_survives_the_failure_it_travels_in() -> None:
    sent = Rejection("forbidden", "not_assigned", "case is not assigned to unit x", params={"u": 1})
    got = from_error(sent.error())
    assert got == sent and got is not None and got.params == {"u": 1}


def test_a_refusal_without_a_code_or_params_reads_as_sent() -> None:
    assert labels.refusal_text(CaseError(422, "something else")) == "something else"
    missing_param = CaseError(409, "equipment X is under repair", code="equipment_repair")
    assert labels.refusal_text(missing_param) == "equipment X is under repair"


def test_catalogue_placeholders_are_plain_names() -> None:
    for code, text in labels.REFUSALS.items():
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        assert all(name.isidentifier() for name in names), code
