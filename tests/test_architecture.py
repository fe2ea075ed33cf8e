"""The shape of the code: the engine imports no edge, its step packages depend downward only, no
module imports itself through others, and no module or function grows past its size."""

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


# The engine's packages from the bottom up; a package imports only packages of lower layers (the
# kernel: the modules at the engine's root - plan, streams, errors, defaults, versions, meta,
# domain, missing, owner).
LAYERS = (
    ("kernel",),
    ("data",),
    ("dp", "outputs", "comparators", "evaluation"),
    ("catalogue",),
    ("synthesisers",),
    ("disclosure", "release", "reports"),
    ("run",),
)
ENGINE_PACKAGES = {name for layer in LAYERS for name in layer} - {"kernel"}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ENGINE_PACKAGES else "kernel"


def test_the_layers_name_every_engine_package():
    on_disk = {p.name for p in (ROOT / "trialsynth").iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == ENGINE_PACKAGES


def test_engine_packages_depend_downward_only():
    rank = {name: level for level, layer in enumerate(LAYERS) for name in layer}
    upward = sorted(
        (source, target)
        for source, targets in _graph().items()
        if source.startswith("trialsynth")
        for target in targets
        if target.startswith("trialsynth")
        and _package(target) != _package(source)
        and rank[_package(target)] >= rank[_package(source)]
    )
    assert upward == []


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# module or "module:function" -> why it may be longer (none today)
SIZE_EXCEPTIONS: dict[str, str] = {}


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            text = path.read_text()
            modules[name] = len(text.splitlines())
            for node in ast.walk(ast.parse(text, name)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    functions[f"{name}:{node.name}:{node.lineno}"] = node.end_lineno - node.lineno + 1
    return modules, functions


def test_no_engine_module_is_over_its_size():
    modules, _ = _sizes()
    over = {
        name: lines
        for name, lines in modules.items()
        if name.startswith("trialsynth/") and lines > MAX_MODULE_LINES and name not in SIZE_EXCEPTIONS
    }
    assert over == {}


def test_no_function_is_over_its_size():
    _, functions = _sizes()
    over = {
        name: lines
        for name, lines in functions.items()
        if lines > MAX_FUNCTION_LINES and name.rsplit(":", 1)[0] not in SIZE_EXCEPTIONS
    }
    assert over == {}


def test_the_size_checks_see_a_long_function(tmp_path):
    """The measure itself: a 61-line function is counted as 61 lines."""
    body = "\n".join(f"    x{i} = {i}" for i in range(59))
    source = f"def long():\n{body}\n    return 0\n"
    (node,) = ast.parse(source).body
    assert node.end_lineno - node.lineno + 1 == 61 > MAX_FUNCTION_LINES
