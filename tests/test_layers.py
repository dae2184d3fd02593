"""The package layers, drawn by their imports: each module imports only its own floor and the floors below,
front ends reach the library only through `rag.assistant`, and no modules import each other in a circle.

Every import counts: top-level, inside a function (a lazy one), and under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# Floors, lowest first; a module may import from its own floor and the ones below it.
FLOORS = {
    "rag.core": 0,
    "rag.index": 1,
    "rag.ingest": 2,
    "rag.retrieval": 2,
    "rag.answering": 3,
    "rag.assistant": 4,
}
# Front ends stand on top: the core's types and the facade, nothing between.
FRONT_ENDS = ("rag.__main__", "rag.cli", "rag.api", "rag.watch", "rag.eval", "ui")
# The CLI starts the other front ends (`python -m rag` is the CLI).
STARTS = {"rag.cli": ("rag.api", "rag.watch", "rag.eval", "ui"), "rag.__main__": ("rag.cli",)}


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports, by their full dotted names (`from rag.core import text` is
    rag.core.text; `from rag.core.text import terms` is rag.core.text)."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            submodules = {f"{base}.{a.name}" for a in node.names} & modules
            found |= submodules or {base}
    return {m for m in found if m.split(".")[0] in ("rag", "ui")}


def _graph() -> dict[str, set[str]]:
    files = sorted([*REPO.glob("rag/**/*.py"), *REPO.glob("ui/**/*.py")])
    modules = {_module(f): f for f in files}
    return {m: {i for i in _imports(f, set(modules)) if i in modules and i != m} for m, f in modules.items()}


def _group(module: str) -> str:
    for name in (*FLOORS, *FRONT_ENDS):
        if module == name or module.startswith(name + "."):
            return name
    return module


def test_every_module_imports_only_downwards():
    wrong = []
    for module, imports in _graph().items():
        mine = _group(module)
        if mine == "rag":
            continue  # the package's public names, loaded lazily from wherever they live
        for target in imports:
            theirs = _group(target)
            if theirs == mine:
                continue
            if mine in FRONT_ENDS:
                ok = theirs in ("rag.core", "rag.assistant") or theirs in STARTS.get(mine, ())
            else:
                ok = theirs in FLOORS and FLOORS[theirs] < FLOORS[mine]
            if not ok:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_modules_import_each_other_in_a_circle():
    graph = _graph()
    graph.pop("rag", None)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "circular imports:\n" + "\n".join(cycles)


def test_every_layer_says_what_it_may_import():
    for package in ("core", "index", "ingest", "retrieval", "answering", "eval", "api"):
        doc = ast.get_docstring(ast.parse((REPO / "rag" / package / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), f"rag/{package}/__init__.py: a docstring saying what it may import"


def test_the_cli_starts_without_the_heavy_libraries():
    """`rag --help` parses arguments before any of llama-index, chromadb, openai, onnxruntime or gradio loads."""
    heavy = ("llama_index", "chromadb", "openai", "onnxruntime", "gradio", "fastapi", "pydantic", "numpy")
    code = "import sys, rag.cli; print(','.join(m for m in %r if m in sys.modules))" % (heavy,)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"rag.cli loaded: {out.strip()}"
