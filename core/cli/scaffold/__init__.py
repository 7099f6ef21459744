"""`cityloop new-type NAME`: scaffold a case type through the registry seam.

The files come from `files/`, a tree that mirrors the repository (`NAME` in a path is the type's
name; `*.tmpl` are `string.Template`s, kept out of the import walk by their suffix). Outside the
new type's own folders the scaffold appends one entry to `workflows/registry.py`, and nothing
else. A bad name changes nothing: every check runs before the first file is written.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from starlette.routing import Match

FILES = Path(__file__).resolve().parent / "files"
REGISTRY_ENTRY = Path(__file__).resolve().parent / "registry.py.tmpl"
REGISTRY = Path("workflows/registry.py")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
MAX_NAME = 32  # the case_type column's width


# Mounted by api/app.py beside the routers `taken_now` asks: the JSON API, static files.
OUTSIDE_ROUTERS = frozenset({"api", "static"})


class Refused(Exception):
    """Why a name cannot become a type (the CLI exits 2, nothing written)."""


@dataclass(frozen=True)
class NewType:
    name: str
    label: str
    ticket_prefix: str

    @property
    def values(self) -> dict[str, str]:
        slug = self.name.replace("_", "-")
        return {
            "name": self.name,
            "Class": "".join(part.capitalize() for part in self.name.split("_")),
            "CONST": self.name.upper(),
            "slug": slug,
            "url": f"/{slug}",
            "label": self.label,
            "ticket_prefix": self.ticket_prefix,
        }


def plan(new: NewType) -> dict[Path, str]:
    """Each file to write (relative to `root`) with its text."""
    files = {}
    for template in sorted(FILES.rglob("*.tmpl")):
        relative = template.relative_to(FILES).with_suffix("")  # drops ".tmpl"
        target = Path(*(part.replace("NAME", new.name) for part in relative.parts))
        files[target] = Template(template.read_text(encoding="utf-8")).substitute(new.values)
    return files


def check(root: Path, new: NewType, files: dict[Path, str], taken: Taken) -> None:
    """Refuse a name that is no lowercase identifier, is taken, or would clash."""
    name = new.name
    _check_name(name)
    if name in taken.types:
        raise Refused(f"case type {name!r} exists already (workflows/registry.py)")
    clash = _existing(root, name, files)
    if clash:
        raise Refused(f"{name!r} would overwrite or shadow what exists: {', '.join(clash)}")
    shadowed = {name.upper(), f"{name}_contracts", f"{name}_workflow"} & taken.registry_names
    if shadowed:
        raise Refused(f"{name!r} would shadow {', '.join(sorted(shadowed))} in the registry")
    url = new.values["url"]
    if any(taken.served(p) for p in (url, f"{url}/new", f"{url}/X-1")):
        raise Refused(f"{name!r} would serve {url}, which the app serves already")
    _check_prefix(new.ticket_prefix, taken.ticket_prefixes)


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name) or len(name) > MAX_NAME:
        raise Refused(
            f"{name!r} is not a type name: lowercase letters, digits and single underscores, "
            f"starting with a letter, a Python identifier and no keyword, at most {MAX_NAME} "
            "characters (e.g. road_closure)"
        )


def _check_prefix(prefix: str, others: dict[str, str]) -> None:
    """A ticket tells its type by prefix (registry.of_ticket): no prefix may begin another."""
    if not re.fullmatch(r"[A-Z][A-Z0-9]*-", prefix):
        raise Refused(f"ticket prefix {prefix!r}: capital letters and digits, then '-' (e.g. RC-)")
    for other, theirs in others.items():
        if prefix.startswith(theirs) or theirs.startswith(prefix):
            raise Refused(
                f"ticket prefix {prefix!r} clashes with {other}'s {theirs!r}: "
                "choose another with --ticket-prefix"
            )


def _existing(root: Path, name: str, files: dict[Path, str]) -> list[str]:
    """The files and packages of that name already there (a module beside a package too)."""
    also = [Path(layer) / name for layer in ("workflows", "core", "web", "activities")]
    also += [Path(layer) / f"{name}.py" for layer in ("workflows", "core", "web")]
    return sorted({str(p) for p in [*files, *also] if (root / p).exists()})


@dataclass(frozen=True)
class Taken:
    """What the repository has already: type names, registry names, URLs, ticket prefixes."""

    types: frozenset[str]
    registry_names: frozenset[str]
    served: Callable[[str], bool]  # whether the app answers a GET of that path already
    ticket_prefixes: dict[str, str]


def taken_now() -> Taken:
    """Read from the running code: the registry and the web app's routes."""
    from api.routes import codec, docs, open311, operations
    from web.routes import router
    from workflows import registry

    routes = [r for x in (router, open311, codec, docs, operations) for r in _routes(x)]

    def served(path: str) -> bool:
        if path.split("/")[1] in OUTSIDE_ROUTERS:
            return True
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        return any(r.matches(scope)[0] is not Match.NONE for r in routes)

    types = registry.all_types()
    return Taken(
        types=frozenset(t.name for t in types),
        registry_names=frozenset(vars(registry)),
        served=served,
        ticket_prefixes={t.name: t.ticket_prefix for t in types if t.ticket_prefix},
    )


def _routes(owner: Any) -> list[Any]:
    """A router's routes (a module's `router`, or the router itself)."""
    return list(getattr(owner, "router", owner).routes)


def default_prefix(name: str) -> str:
    """The initials, capitalised: road_closure -> RC-."""
    return "".join(part[:1] for part in name.split("_")).upper() + "-"


def scaffold(root: Path, new: NewType, taken: Taken) -> list[Path]:
    """Write the type's files and append its registry entry; return what was written."""
    files = plan(new)
    check(root, new, files, taken)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    entry = Template(REGISTRY_ENTRY.read_text(encoding="utf-8")).substitute(new.values)
    registry = root / REGISTRY
    text = registry.read_text(encoding="utf-8").rstrip("\n") + "\n" + entry
    registry.write_text(text, encoding="utf-8")
    tidy(root, [p for p in [*files, REGISTRY] if p.suffix == ".py"])
    return [*files, REGISTRY]


def tidy(root: Path, paths: list[Path]) -> None:
    """Sort imports and format as the project does, where ruff is installed (a dev tool): the
    order of `workflows.<name>` among the other imports depends on the name."""
    if importlib.util.find_spec("ruff") is None:
        return
    ruff = [sys.executable, "-m", "ruff"]
    names = [str(p) for p in paths]
    for command in (["check", "--fix", "--select", "I"], ["format"]):
        subprocess.run(
            [*ruff, *command, "--no-cache", *names], cwd=root, capture_output=True, check=False
        )
