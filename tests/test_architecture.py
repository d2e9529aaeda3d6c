"""The tree keeps its shape: layers that only import downwards, and no circles.

Read from the source with :mod:`ast` (nothing is imported), so the test sees every import: at
module level, inside functions, and under ``TYPE_CHECKING``. A circle hidden behind
``TYPE_CHECKING`` still means two modules cannot be understood, or split, one without the other.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent
#: Every first-party top-level package (the HA integration is ``custom_components.omnipower``).
#: The integration is written for Home Assistant's Python (3.13+, ``type`` statements): the
#: Python 3.11 run of the gateway suite cannot parse it, and checks the other packages.
PACKAGES: Final = ("ccc_gateway", "meter_emulator", "omnipower_demo") + (
    ("custom_components",) if sys.version_info >= (3, 12) else ()
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        base = ROOT / package
        if base.is_dir():
            for path in sorted(base.rglob("*.py")):
                found[_module_name(path)] = path
    return found


MODULES: Final = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name ``from … import`` refers to, relative imports included."""
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _imports(module: str) -> Iterator[str]:
    """First-party modules that *module* imports, each as the most specific module there is."""
    path = MODULES[module]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target


GRAPH: Final = {module: set(_imports(module)) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_the_graph_sees_the_tree() -> None:
    """Guards the test itself: if module discovery broke, every rule below would pass vacuously."""
    assert "ccc_gateway.protocol.push" in MODULES
    assert "ccc_gateway.service" in GRAPH["ccc_gateway.cli"] | {
        m for m in MODULES if m.startswith("ccc_gateway.service")
    }
    assert "ccc_gateway.protocol.errors" in GRAPH["ccc_gateway.protocol.push"] | set().union(
        *(GRAPH[m] for m in MODULES if m.startswith("ccc_gateway.protocol.push"))
    )
    assert len(MODULES) > 100


def test_no_import_circles() -> None:
    """No two first-party modules import each other, directly or around a loop."""
    assert _cycles() == []


def _violations(source_prefix: str, allowed: tuple[str, ...]) -> list[str]:
    """Imports from modules under *source_prefix* into first-party modules outside *allowed*."""
    found = []
    for module, targets in GRAPH.items():
        if module != source_prefix and not module.startswith(source_prefix + "."):
            continue
        for target in sorted(targets):
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                found.append(f"{module} -> {target}")
    return found


@pytest.mark.parametrize(
    ("layer", "may_import"),
    [
        # The frame definitions and state machines are the bottom: pure, shared by all.
        ("ccc_gateway.protocol", ("ccc_gateway.protocol",)),
        # The emulator shares the frame definitions and nothing else of the gateway.
        ("meter_emulator", ("meter_emulator", "ccc_gateway.protocol")),
        # The gateway can be installed and reasoned about without the emulator or the demo.
        ("ccc_gateway", ("ccc_gateway",)),
        # HACS ships the integration's folder alone: it knows only the MQTT contract.
        ("custom_components", ("custom_components",)),
    ],
    ids=["protocol", "emulator", "gateway", "home-assistant"],
)
def test_layers_import_only_downwards(layer: str, may_import: tuple[str, ...]) -> None:
    if layer not in PACKAGES and layer.partition(".")[0] not in PACKAGES:
        pytest.skip(f"{layer} is not parsed on Python {sys.version_info[:2]}")
    assert _violations(layer, may_import) == []


def test_the_cli_reaches_the_demo_only_lazily() -> None:
    """``omnipower demo`` wires both packages; the gateway's CLI may start it, but only by a
    lazy import inside the dispatch, so that importing the gateway never loads the emulator."""
    cli = MODULES["ccc_gateway.cli"]
    tree = ast.parse(cli.read_text(encoding="utf-8"))
    top_level = {
        alias.name if isinstance(node, ast.Import) else (node.module or "")
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name.startswith(("meter_emulator", "omnipower_demo")) for name in top_level)
