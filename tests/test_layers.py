"""The architecture holds: no import cycles, and every import points down the layers.

The layers, from the bottom (docs/architecture.md draws them):
settings → domain → trust → records → triage, assessment, metrics → workflows, activities →
client, workers → ops → interfaces. A module may import its own folder and any layer below its
own; nothing below imports above (a workflow or an activity never imports the client or the
interfaces). Imports inside functions and under TYPE_CHECKING count too: a lazy import still
ties one module to another.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("linkage", "workflows", "activities", "workers")

# folder -> its layer (lower is further down); folders of one layer may not import each other,
# except where ALSO_ALLOWED says so
LAYERS = {
    "linkage.settings": 0,
    "linkage.domain": 1,
    "linkage.trust": 2,
    "linkage.records": 3,
    "linkage.triage": 4,
    "linkage.assessment": 4,
    "linkage.metrics": 4,
    "workflows": 5,
    "activities": 5,
    "linkage.client": 6,
    "workers": 6,
    "linkage.ops": 7,
    "linkage.interfaces": 8,
}
ALSO_ALLOWED = {("workflows", "activities")}  # a workflow names the activities it runs

MAX_LINES = 320  # "about 300"
LONGER = {  # module path -> why it may be longer
    "linkage/trust/policy.py": "the role × action table and the unit rules it names read as one",
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" in path.parts:  # alembic revisions: loaded by alembic, never imported
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> str | None:
    return next((f for f in LAYERS if module == f or module.startswith(f + ".")), None)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_module_is_in_a_layer():
    loose = [m for m in _graph() if _layer(m) is None and m not in PACKAGES and m != "linkage"]
    assert loose == [], "a module outside every layer folder: give it a folder"


def test_imports_point_down_the_layers():
    upward = []
    for module, targets in _graph().items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if LAYERS[theirs] < LAYERS[mine] or (mine, theirs) in ALSO_ALLOWED:
                continue
            upward.append(f"{module} imports {target}")
    assert sorted(upward) == []


def test_workflows_and_activities_never_import_the_client_or_the_interfaces():
    above = ("linkage.client", "linkage.interfaces", "linkage.ops", "workers")
    found = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if module.startswith(("workflows", "activities"))
        for target in targets
        if target.startswith(above)
    ]
    assert found == []


def test_modules_stay_about_300_lines():
    paths = [*(ROOT / p for p in PACKAGES), ROOT / "scripts", ROOT / "tests"]
    too_long = {}
    for folder in paths:
        for path in folder.rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES and relative not in LONGER and not relative.startswith("tests/"):
                too_long[relative] = lines
    assert too_long == {}, "split these by concern, or say in LONGER why one may not be"
