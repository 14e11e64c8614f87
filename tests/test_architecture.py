"""The shape of the house: no import cycles, analysis never imports presentation or the LLM, small modules.

The import graph is read from the source with ``ast`` (nothing is imported), counting every
import statement wherever it is: module level, inside functions, under ``TYPE_CHECKING``.
``import a.b`` and ``from a import b`` (b a module) are edges to ``a.b``; ``from a import name``
is an edge to ``a`` (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("formcheck_core", "formcheck_rules")

#: The analysis core: video -> pose -> series -> moments -> metrics -> rules (DESIGN.md, "Never").
CORE = (
    "formcheck_core.analysis",
    "formcheck_core.biomech.body",
    "formcheck_core.cache",
    "formcheck_core.config",
    "formcheck_core.errors",
    "formcheck_core.findings",
    "formcheck_core.hookspecs",
    "formcheck_core.biomech.kinematics",
    "formcheck_core.biomech.metrics",
    "formcheck_core.biomech.moments",
    "formcheck_core.plugins",
    "formcheck_core.pose",
    "formcheck_core.result",
    "formcheck_core.rules",
    "formcheck_core.biomech.series",
    "formcheck_core.video",
    "formcheck_core.biomech.view",
    "formcheck_core.vocabulary",
    "formcheck_rules",
)
#: What the core must never reach, directly or through another module.
FORBIDDEN = (
    "formcheck_core.render",
    "formcheck_core.render.report",
    "formcheck_core.widgets",
    "formcheck_core.cli",
    "formcheck_core.render.summary",
    "formcheck_core.llm",
    "formcheck_core.compare",
)
#: Words with one home (formcheck_core.vocabulary): code compares against its names, not literals.
VOCABULARY_WORDS = {"fault", "not_measurable", "needs work"}
#: A module longer than this must say why in its docstring (a line starting "Long because").
MAX_LINES = 400
LONG_REASON = "Long because"


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _files() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> modules of ``files`` it imports anywhere in its source."""
    edges: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - (node.level - 1)]
                    src = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                subs = [f"{src}.{a.name}" for a in node.names]
                targets = subs + ([src] if any(s not in files for s in subs) else [])
            else:
                continue
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    edges[mod].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def reachable(edges: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module ``start`` imports directly or indirectly -> the module that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in edges[v]:
            if w not in seen and w != start:
                seen[w] = v
                todo.append(w)
    return seen


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(_files())


def test_the_checker_finds_cycles_and_paths(tmp_path):
    """The checker itself: a cycle closed by a function-level import is found, and paths are traced."""
    sources = {
        "p/__init__.py": "",
        "p/a.py": "from . import b\n",
        "p/b.py": "def f():\n    from .a import thing\n",
        "p/c.py": "from .b import f\nimport p.a\n",
        "p/d.py": "from p import c\n",
    }
    files = {}
    for rel, text in sources.items():
        path = tmp_path / rel
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        files[rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")] = path
    edges = import_graph(files)
    assert edges == {"p": set(), "p.a": {"p.b"}, "p.b": {"p.a"}, "p.c": {"p.a", "p.b"}, "p.d": {"p.c"}}
    assert cycles(edges) == [["p.a", "p.b"]]
    assert reachable(edges, "p.d") == {"p.c": "p.d", "p.a": "p.c", "p.b": "p.c"}


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "import cycles (function-level imports count): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_analysis_core_never_imports_presentation_or_llm(graph):
    bad = []
    for mod in graph:
        if not _under(mod, CORE):
            continue
        via = reachable(graph, mod)
        for target in sorted(via):
            if _under(target, FORBIDDEN):
                chain = [target]
                while chain[-1] != mod and chain[-1] in via:
                    chain.append(via[chain[-1]])
                bad.append(" <- ".join(chain))
    assert not bad, "the analysis core reaches presentation / LLM code:\n" + "\n".join(bad)


def test_core_list_names_real_modules(graph):
    """The layer lists above name modules that exist (a rename must update them)."""
    for prefix in (*CORE, *FORBIDDEN):
        assert any(_under(m, (prefix,)) for m in graph), prefix


def test_modules_are_small_or_say_why():
    long = []
    for mod, path in _files().items():
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > MAX_LINES:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if not any(line.strip().startswith(LONG_REASON) for line in doc.splitlines()):
                long.append(f"{mod} ({n} lines)")
    assert not long, (
        f"modules over {MAX_LINES} lines without a '{LONG_REASON} ...' line in the docstring: "
        + ", ".join(long)
    )


def _literal_words(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return {w for e in node.elts for w in _literal_words(e)}
    return set()


def test_statuses_and_verdicts_are_compared_by_name():
    """``f.status == "fault"`` must read ``f.status == FAULT`` (one spelling, checkable by type)."""
    bad = []
    for mod, path in _files().items():
        if mod == "formcheck_core.vocabulary":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                words = set().union(*(_literal_words(n) for n in (node.left, *node.comparators)))
                if words & VOCABULARY_WORDS:
                    bad.append(f"{mod}:{node.lineno} {sorted(words & VOCABULARY_WORDS)}")
    assert not bad, (
        "compare with formcheck_core.vocabulary names (FAULT, NOT_MEASURABLE, NEEDS_WORK):\n" + "\n".join(bad)
    )


def test_a_plugin_importing_rule_does_not_load_the_engine():
    """``from formcheck_core.rules import Rule`` (all a plugin needs) loads no engine, plugin manager or numpy."""
    import subprocess
    import sys

    code = (
        "import sys; from formcheck_core.rules import Rule, rule; "
        "print(sorted(m for m in ('formcheck_core.rules.engine', 'formcheck_core.plugins', "
        "'formcheck_core.analysis', 'numpy', 'pluggy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
