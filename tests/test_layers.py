"""The house's shape: imports of harness/ and plugins/ form no cycle, and no module grows past 500 lines.

Every import counts, also those inside functions (they run too, only later);
imports under ``if TYPE_CHECKING:`` do not (they never run), nor a package's
lazy re-exports in a module ``__getattr__`` (PEP 562): ``harness.extract_text``
is the public face of ``harness.api``, which itself reads constants from the
package root.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Source folders and the package name each is imported as.
PACKAGES = {"harness": ROOT / "harness", "ocr_harness_plugins": ROOT / "plugins"}
MAX_LINES = 500
#: Modules known to be over the limit, each with the change that brings it under; remove the entry then.
OVER_THE_LIMIT: dict[str, str] = {}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _not_dependencies(tree: ast.Module) -> set[int]:
    """Nodes whose imports never run on import: TYPE_CHECKING blocks and a module ``__getattr__``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__getattr__":
            skipped.update(id(child) for child in ast.walk(statement))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (the deepest known module of each import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _not_dependencies(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
                break
    return targets


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "harness.run_folder" in graph["harness.runner"]
    assert "harness.compare" in graph["harness.check"]  # imported inside a method
    assert "harness.compare" not in graph["harness.report"]


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_reports_and_the_run_folder_never_import_compare_or_check() -> None:
    graph = import_graph()
    upper = {"harness.compare", "harness.compare.render", "harness.check", "harness.junit"}
    for name, targets in graph.items():
        if name.startswith(("harness.report", "harness.run_folder", "harness.store", "harness.runner")):
            assert not targets & upper, f"{name} imports {sorted(targets & upper)}, which read its output"


def test_no_module_over_500_lines() -> None:
    long = {
        name: count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and name not in OVER_THE_LIMIT
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
