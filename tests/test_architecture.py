"""The plan of the house, kept by a test: a foundation, three wings, and a roof.

- The foundation (the package's own top level: records, errors, plane, files, signals, assets,
  settings, images) is what everything stands on; it imports nothing but itself.
- The wings (builder/picture, builder/music, builder/gallery) reach the foundation and their own
  wing only, however indirectly: no chain of imports leads from a wing to another wing or to the
  roof.
- The roof joins them, in floors: the pipeline; above it the lab (fitting, evaluation) and the film;
  above those the CLI; `builder.__main__` is the door. A floor imports its own floor and those
  below, never above.

Imports are read with `ast`: every import, also those inside functions (which run too) and those
under `if TYPE_CHECKING:` (they name types only, but a wing that names the roof's types leans on the
roof). Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` too, so a chain counts the
packages on the way.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

WINGS = ("picture", "music", "gallery")
# The roof's floors, lowest first: a module may import its own floor and those below it.
FLOORS = ("pipeline", ("lab", "film"), "cli", "__main__")
MAX_TOP_LEVEL = 10


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> list[tuple[str, bool]]:
    """(imported builder module, under TYPE_CHECKING) for every import in a module's source."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from builder.picture import affect` imports the module builder.picture.affect
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            # importing a.b.c runs the packages a and a.b on the way
            parts = target.split(".")
            for k in range(2, len(parts) + 1):
                step = ".".join(parts[:k])
                if step in known and step != name and not name.startswith(step + "."):
                    found.append((step, id(node) in typing_only))
    return found


def import_graph(root: Path) -> dict[str, list[tuple[str, bool]]]:
    files = {module_name(p, root.parent): p for p in sorted(root.rglob("*.py"))}
    return {
        name: imports_of(p.read_text(encoding="utf-8"), name, p.name == "__init__.py", set(files))
        for name, p in files.items()
    }


def part(module: str) -> str:
    """'foundation', a wing's name, or the roof floor's name a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "foundation"  # the package's own __init__
    if parts[1] in WINGS:
        return parts[1]
    for floor in FLOORS:
        if parts[1] in (floor if isinstance(floor, tuple) else (floor,)):
            return parts[1]
    return "foundation"  # a module of the top level, or of a folder of the foundation's (assets)


def level(module: str) -> int:
    """0: the foundation, 1: a wing, 2 and up: the roof's floors."""
    p = part(module)
    if p == "foundation":
        return 0
    if p in WINGS:
        return 1
    for n, floor in enumerate(FLOORS):
        if p in (floor if isinstance(floor, tuple) else (floor,)):
            return 2 + n
    return 99


def may_import(a: str, b: str) -> bool:
    pa, pb = part(a), part(b)
    if pb == "foundation":
        return True
    if pa == "foundation":
        return False
    if pa in WINGS:
        return pa == pb
    return level(b) <= level(a) and (pb in WINGS or level(b) < level(a) or pa == pb)


def broken_rules(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    problems = []
    for a, targets in graph.items():
        for b, _ in targets:
            if not may_import(a, b):
                problems.append(f"{a} ({part(a)}) imports {b} ({part(b)})")
    return problems


def reaches(graph: dict[str, list[tuple[str, bool]]], start: str) -> dict[str, list[str]]:
    """Every module a chain of imports leads to from start, with one such chain."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        a = todo.pop()
        for b, _ in graph.get(a, []):
            if b not in chains:
                chains[b] = chains[a] + [b]
                todo.append(b)
    return chains


def wing_chains(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    """A chain from a wing's module to another wing or to the roof, by any number of imports."""
    problems = []
    for a in sorted(graph):
        if part(a) not in WINGS:
            continue
        for b, chain in sorted(reaches(graph, a).items()):
            if part(b) not in ("foundation", part(a)):
                problems.append(" -> ".join(chain))
    return problems


def cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself),
    run-time imports; a package and the modules it holds do not count as a cycle (Python runs the
    package first)."""
    edges = {
        a: sorted(
            {b for b, typing in targets if not typing and b in graph and not b.startswith(a + ".")}
        )
        for a, targets in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_each_part_imports_only_what_it_stands_on():
    graph = import_graph(ROOT / "builder")
    assert {part(m) for m in graph} >= {"foundation", *WINGS, "pipeline", "lab", "film", "cli"}
    assert broken_rules(graph) == []


def test_no_chain_of_imports_leads_from_a_wing_to_another_wing_or_the_roof():
    assert wing_chains(import_graph(ROOT / "builder")) == []


def test_the_top_level_holds_the_foundation_only():
    """At most ten modules at the package's top level, a folder of the foundation counting as
    one."""
    root = ROOT / "builder"
    roof = {name for floor in FLOORS for name in (floor if isinstance(floor, tuple) else (floor,))}
    folders = [
        p.name
        for p in root.iterdir()
        if (p / "__init__.py").is_file() and p.name not in {*WINGS, *roof}
    ]
    top = sorted(p.name for p in root.glob("*.py")) + sorted(folders)
    assert len(top) <= MAX_TOP_LEVEL, top


def test_no_import_cycle_in_builder():
    graph = import_graph(ROOT / "builder")
    assert cycles(graph) == []
    # nor when imports that name types only are counted: the context never imports the methods that
    # name it
    assert cycles({a: [(b, False) for b, _ in targets] for a, targets in graph.items()}) == []


def test_the_rules_catch_what_they_are_for(tmp_path):
    """The checker on a small made-up package: each broken rule is reported, a chain through the
    foundation is caught, and a cycle is found."""
    pkg = tmp_path / "builder"
    for folder in ("picture", "music", "gallery", "pipeline", "cli", "lab"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "pipeline" / "run.py").write_text(
        "from builder.picture import eye\nfrom builder.cli import x\n"
    )
    (pkg / "lab" / "fit.py").write_text("")
    (pkg / "picture" / "eye.py").write_text(
        "from builder.music.ear import hear\nfrom builder import records\n"
    )
    (pkg / "music" / "ear.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from builder.picture.eye import look\nfrom . import tune\n"
    )
    (pkg / "music" / "tune.py").write_text("from builder.music import ear\n")
    (pkg / "gallery" / "site.py").write_text("from builder import records\n")
    (pkg / "records.py").write_text("def f():\n    from builder.lab.fit import g\n")
    (pkg / "cli" / "x.py").write_text("")
    graph = import_graph(pkg)
    assert sorted(broken_rules(graph)) == [
        "builder.music.ear (music) imports builder.picture (picture)",  # typing imports count too
        "builder.music.ear (music) imports builder.picture.eye (picture)",
        # the package runs on the way
        "builder.picture.eye (picture) imports builder.music (music)",
        "builder.picture.eye (picture) imports builder.music.ear (music)",
        "builder.pipeline.run (pipeline) imports builder.cli (cli)",
        "builder.pipeline.run (pipeline) imports builder.cli.x (cli)",
        "builder.records (foundation) imports builder.lab (lab)",
        "builder.records (foundation) imports builder.lab.fit (lab)",
    ]
    # the gallery imports nothing of the roof itself, but the foundation it stands on does
    assert "builder.gallery.site -> builder.records -> builder.lab" in wing_chains(graph)
    assert cycles(graph) == [
        ["builder.music.ear", "builder.music.tune"]
    ]  # the typing-only import is no cycle


def test_every_public_function_of_a_wing_has_type_hints():
    """What mypy checks (CI runs it on the wings) is only as good as the hints: every public
    function and method of builder/picture, builder/music and builder/gallery names its arguments'
    and its result's types."""
    missing = []
    for path in sorted((ROOT / "builder").rglob("*.py")):
        if part(module_name(path, ROOT)) not in WINGS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            owner, functions = "", [node]
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                owner, functions = f"{node.name}.", node.body
            for f in functions:
                if not isinstance(f, ast.FunctionDef) or (
                    f.name.startswith("_") and f.name != "__init__"
                ):
                    continue
                args = [
                    a
                    for a in f.args.posonlyargs + f.args.args + f.args.kwonlyargs
                    if a.arg not in ("self", "cls")
                ]
                bare = [a.arg for a in args if a.annotation is None]
                if f.returns is None and f.name != "__init__":
                    bare.append("return")
                if bare:
                    missing.append(
                        f"{path.relative_to(ROOT)}:{f.lineno} {owner}{f.name}: {', '.join(bare)}"
                    )
    assert missing == []
