"""The import graph of drsn_fd/ follows the layers: no upward edge, no cycle, no long module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "drsn_fd"
# bottom to top; a module may import from its own layer or below
LAYERS = ["errors", "io", "data", "models", "validate", "evaluate", "train", "deploy", "cli"]
MAX_LINES = 330


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def imports(path: Path) -> set[str]:
    """The drsn_fd modules that `path` imports (at any depth of the file, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("drsn_fd"):
            subs = {f"{node.module}.{a.name}" for a in node.names}
            known = {s for s in subs if _exists(s)}
            found |= known or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("drsn_fd")}
    return found


def _exists(module: str) -> bool:
    base = PACKAGE.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or base.is_dir()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def upward_edges(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in sorted(g.items()):
        for dep in sorted(deps):
            lm, ld = layer(mod), layer(dep)
            if lm is not None and ld is not None and ld > lm:
                bad.append(f"{mod} imports {dep} from a layer above ({LAYERS[ld]} > {LAYERS[lm]})")
    return bad


def cycles(g: dict[str, set[str]]) -> list[str]:
    edges = {m: {d for d in deps if d in g and d != m} for m, deps in g.items()}
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in path:
                found.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    for m in sorted(edges):
        if m not in done:
            visit(m, [m])
    return sorted(set(found))


def test_every_module_has_a_layer():
    assert [m for m in graph() if m != "drsn_fd" and layer(m) is None] == []


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_edges(graph()) == []


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_no_module_is_over_the_line_limit():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_catch_an_upward_edge_and_a_cycle():
    g = {"drsn_fd.data.a": {"drsn_fd.train.b"}, "drsn_fd.train.b": {"drsn_fd.data.a"}}
    assert upward_edges(g) == ["drsn_fd.data.a imports drsn_fd.train.b from a layer above (train > data)"]
    assert cycles(g) == ["drsn_fd.data.a -> drsn_fd.train.b -> drsn_fd.data.a"]
