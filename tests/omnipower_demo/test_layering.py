"""The demo sits above both packages: nothing in the gateway imports the emulator or the demo."""

from __future__ import annotations

import ast
from pathlib import Path

import ccc_gateway

ABOVE_THE_GATEWAY = ("meter_emulator", "omnipower_demo")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_gateway_never_imports_the_emulator_or_the_demo() -> None:
    root = Path(ccc_gateway.__file__).parent
    offenders = {
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ABOVE_THE_GATEWAY
    }
    # Strings naming a module (the CLI's lazy "demo" entry) are not imports and pass.
    assert offenders == set()
