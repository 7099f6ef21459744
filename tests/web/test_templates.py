"""Templates live with their domain (web/<domain>/templates/): every name the UI uses resolves
through the loader, and the package data ships every template and static file."""

from __future__ import annotations

import ast
import tomllib
from glob import glob
from pathlib import Path

from jinja2 import meta

from web.templating import STATIC_DIR, TEMPLATE_DIRS, WEB_DIR, templates

ROOT = WEB_DIR.parent


def named_in_code() -> list[tuple[str, str]]:
    """(template name, where) for each "*.html" string in web/'s Python."""
    found = []
    for path in sorted(WEB_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and str(node.value).endswith(".html"):
                found.append((str(node.value), f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def named_in_templates() -> list[tuple[str | None, str]]:
    """(template name, where) for each extends, include, import and from-import; None is a
    name computed at render time, which nothing here could check."""
    env = templates.env
    found = []
    for name in env.list_templates():
        filename = env.get_template(name).filename
        assert filename is not None
        tree = env.parse(Path(filename).read_text())
        found += [(ref, name) for ref in meta.find_referenced_templates(tree)]
    return found


def test_every_template_the_ui_names_resolves() -> None:
    known = set(templates.env.list_templates())
    named = [*named_in_code(), *named_in_templates()]
    assert len(named) > 40
    assert [f"{where}: {name}" for name, where in named if name not in known] == []


def test_each_domain_template_is_named_after_its_domain() -> None:
    names = templates.env.list_templates()
    assert "cases/detail.html" in names and "base.html" in names
    for folder in TEMPLATE_DIRS[1:]:
        domain = folder.parent.name
        assert (WEB_DIR / domain / "__init__.py").is_file(), domain
        for path in folder.rglob("*.html"):
            assert f"{domain}/{path.relative_to(folder)}" in names


def test_the_package_data_ships_every_template_and_static_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["web"]
    # Expanded as setuptools' build_py does: glob(recursive=True) under the package's folder.
    shipped = {Path(p) for pat in patterns for p in glob(str(WEB_DIR / pat), recursive=True)}
    files = [p for d in [*TEMPLATE_DIRS, STATIC_DIR] for p in d.rglob("*") if p.is_file()]
    assert len(files) > 40
    assert [str(f.relative_to(WEB_DIR)) for f in files if f not in shipped] == []
