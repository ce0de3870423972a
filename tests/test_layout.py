"""The code's shape: imports point down the layers, no cycles, short functions.

Layers, top to bottom (docs/architecture.md):
cli -> the public API (`newsmirror/__init__.py`) -> ops, demo -> ingest, site
-> archive -> util -> models. A module may import its own package and any
package in a lower layer; ingest and site, side by side, never import each
other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "newsmirror"

LAYERS = {
    "cli": 6,
    "": 5,  # newsmirror/__init__.py, the public API
    "ops": 4,
    "demo": 4,
    "ingest": 3,
    "site": 3,
    "archive": 2,
    "util": 1,
    "models": 0,
    "__main__": 7,
}
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported newsmirror module, line, inside a function) for each import
    in `path`, skipping `if TYPE_CHECKING:` blocks."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_block(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "newsmirror":
                        found.append((alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] != "newsmirror":
                    continue
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    if sub in known or _is_extension(sub):
                        target_of_name = sub
                    else:
                        target_of_name = target  # a name defined in `target`
                    found.append((target_of_name, child.lineno, in_function))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _is_extension(module: str) -> bool:
    """A C module (site/_textscan.c) is a submodule with no Python source."""
    return SRC.joinpath(*module.split(".")).with_suffix(".c").exists()


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    group = parts[1] if len(parts) > 1 else ""
    return group, LAYERS[group]


def import_graph() -> dict[str, list[tuple[str, int, bool]]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def test_every_package_has_a_layer() -> None:
    for name in modules():
        group, _ = layer_of(name)  # KeyError names a package missing from LAYERS
        assert group in LAYERS


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for name, imported in import_graph().items():
        group, layer = layer_of(name)
        for target, line, _ in imported:
            target_group, target_layer = layer_of(target)
            if target_group != group and target_layer >= layer:
                wrong.append(f"{name}:{line} imports {target} ({target_group or 'the API'})")
    assert wrong == []


def test_no_import_of_newsmirror_inside_a_function() -> None:
    # Such an import is how a cycle hides; the public API loads names lazily instead.
    inside = [
        f"{name}:{line} imports {target}"
        for name, imported in import_graph().items()
        for target, line, in_function in imported
        if in_function
    ]
    assert inside == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles() -> None:
    graph = {
        name: {target for target, _, _ in imported if target != name}
        for name, imported in import_graph().items()
    }
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from ..ingest.fetch import Fetcher\n")
    imported = imports_of("newsmirror.archive.bad", bad, {"newsmirror.ingest.fetch"})
    assert imported == [("newsmirror.ingest.fetch", 1, False)]
    assert layer_of("newsmirror.ingest.fetch")[1] > layer_of("newsmirror.archive.bad")[1]


def test_functions_are_short() -> None:
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert sorted(long) == sorted(STILL_LONG)


# Functions allowed over the limit: none (site.build._build became named stages).
STILL_LONG: list[str] = []


def test_public_api_names_resolve() -> None:
    import newsmirror

    for name in newsmirror.__all__:
        assert getattr(newsmirror, name) is not None, name
