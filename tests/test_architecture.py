"""The shape of the code: the engine imports no edge, and no packages import each other in a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trialsynth", "registry", "tasks", "flows", "cli")
EDGES = ("prefect", "prefect_dask", "flows", "tasks", "registry", "cli")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_the_engine_imports_no_edge():
    offenders = {
        _module(path): sorted(i for i in _imports(path) if i.split(".")[0] in EDGES)
        for path in (ROOT / "trialsynth").rglob("*.py")
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_packages_depend_one_way():
    """cli -> flows -> tasks -> registry -> trialsynth, never back."""
    order = {name: rank for rank, name in enumerate(("trialsynth", "registry", "tasks", "flows", "cli"))}
    backwards = sorted(
        (source, target)
        for source, targets in _graph().items()
        for target in targets
        if order[target.split(".")[0]] > order[source.split(".")[0]]
    )
    assert backwards == []


def test_no_import_cycles():
    """No module reaches itself through its imports (lazy imports included)."""
    graph = _graph()

    def reaches(start: str, goal: str) -> bool:
        stack, seen = list(graph[start]), set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, ()))
        return False

    cycles = sorted(m for m in graph if reaches(m, m))
    assert cycles == []
