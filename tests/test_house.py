"""The house keeps its shape: SQL only in store/, layers that depend one way, one of each."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "src" / "heattool"
# A string that is a SQL statement (or the heart of one), not prose that uses the words.
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+(\s+AS\s+\w+)?\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TEMP\s+)?(TABLE|VIEW)|DROP\s+(TABLE|VIEW)|COPY\s*\()",
    re.S,
)
# What each layer may import from heattool's own packages.
ALLOWED = {
    "cli": {"cli", "actions", "store", "rules", "schemas", "io"},
    "actions": {"store", "rules", "schemas", "io"},
    "store": {"store", "rules", "schemas", "io"},
    "rules": {"rules", "schemas"},
    "schemas": {"schemas", "io"},
    "io": {"io"},
}
BASE = {
    "errors",
    "findings",
    "clock",
    "background",
    "progress",
    "__init__",
}  # anyone may import these


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def strings(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            found.append((node.lineno, text))
    return found


def layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_lives_only_in_store(path):
    if layer(path) == "store":
        return
    docstrings = {
        node.body[0].value.value
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    statements = [
        (line, text) for line, text in strings(path) if text not in docstrings and SQL.search(text)
    ]
    assert not statements, f"SQL outside store/: {statements}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_depend_one_way_and_actions_do_not_import_each_other(path):
    own = layer(path)
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "heattool" or len(parts) < 2 or parts[1] in BASE:
                continue
            target = parts[1]
            if own in ALLOWED:
                assert target in ALLOWED[own], f"{path.name}: {own}/ imports {name}"
            if own == "actions" and target == "actions":
                raise AssertionError(f"{path.name}: an action imports another ({name})")


def test_no_import_from_typer_internals():
    for path in modules():
        assert "typer._click" not in path.read_text("utf-8"), path


def test_every_action_module_is_named_after_a_command():
    import typer

    from heattool.cli.app import app

    group = typer.main.get_command(app)
    commands = {name.replace("-", "_") for name in group.commands}
    actions = {p.stem for p in (PACKAGE / "actions").glob("*.py")} - {"__init__"}
    assert actions - {"load"} <= commands  # `load` is the action of `import` (a keyword)
    assert "import" in commands
