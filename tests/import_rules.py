"""Shared check of the layer rules of the guide (§2): which absolute imports break them."""

from __future__ import annotations

import ast
from pathlib import Path


def absolute_imports(path: Path) -> list[str]:
    """Every absolute module name the source at ``path`` imports (relative imports are skipped)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def forbidden_imports(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    """The absolute imports of ``path`` that are one of ``prefixes`` or inside one of them."""
    return [
        name
        for name in absolute_imports(path)
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    ]
