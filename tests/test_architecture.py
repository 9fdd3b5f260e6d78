"""The plan of the house, kept by a test: three wings (picture, music, gallery) and the hall (builder/ itself).

A wing may import the hall (builder.records and the rest); no wing imports another wing; outside the hall no module
imports the CLI or the pipeline; the context and the executors never import the pipeline back; and no import
cycle runs through builder/. Imports are read with `ast` (every import, also those inside functions, which run
too). Imports under `if TYPE_CHECKING:` name types only: they count for the wing rule, and builder/ has no cycle
even with them, though `cycles` can leave them out (its self-test shows both).
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

WINGS = ("picture", "music", "gallery")
ENTRANCES = {"builder.cli", "builder.pipeline"}  # only the hall may import these
BELOW_PIPELINE = {
    "builder.context",
    "builder.executors",
}  # the pipeline imports these; never the reverse


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
            if target.startswith("builder") and target != name:
                found.append((target, id(node) in typing_only))
    return found


def import_graph(root: Path) -> dict[str, list[tuple[str, bool]]]:
    files = {module_name(p, root.parent): p for p in sorted(root.rglob("*.py"))}
    return {
        name: imports_of(p.read_text(encoding="utf-8"), name, p.name == "__init__.py", set(files))
        for name, p in files.items()
    }


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in WINGS else "hall"


def broken_rules(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    problems = []
    for a, targets in graph.items():
        for b, _ in targets:
            if wing(a) != "hall" and wing(b) != "hall" and wing(a) != wing(b):
                problems.append(f"{a} (wing {wing(a)}) imports {b} (wing {wing(b)})")
            if b in ENTRANCES and wing(a) != "hall":
                problems.append(f"{a} imports {b}: only the hall may")
            if a in BELOW_PIPELINE and b in ENTRANCES:
                problems.append(f"{a} imports {b} back")
    return problems


def cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself), run-time imports."""
    edges = {
        a: sorted({b for b, typing in targets if not typing and b in graph})
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


def test_no_wing_imports_another_and_only_the_hall_enters_by_the_cli_or_pipeline():
    graph = import_graph(ROOT / "builder")
    assert {wing(m) for m in graph} == {"hall", *WINGS}
    assert broken_rules(graph) == []


def test_no_import_cycle_in_builder():
    graph = import_graph(ROOT / "builder")
    assert cycles(graph) == []
    # nor when imports that name types only are counted: the context never imports the methods that name it
    assert cycles({a: [(b, False) for b, _ in targets] for a, targets in graph.items()}) == []


def test_the_rules_catch_what_they_are_for(tmp_path):
    """The checker on a small made-up package: each broken rule is reported, and a cycle is found."""
    pkg = tmp_path / "builder"
    for folder in ("picture", "music", "gallery"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "pipeline.py").write_text(
        "from builder.picture import eye\nfrom builder.music import ear\n"
    )
    (pkg / "context.py").write_text("def f():\n    from builder.pipeline import x\n")
    (pkg / "picture" / "eye.py").write_text(
        "from builder.music.ear import hear\nfrom builder import records\n"
    )
    (pkg / "music" / "ear.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from builder.picture.eye import look\nfrom . import tune\n"
    )
    (pkg / "music" / "tune.py").write_text("from builder.music import ear\n")
    (pkg / "gallery" / "site.py").write_text("import builder.cli\n")
    (pkg / "records.py").write_text("")
    (pkg / "cli.py").write_text("")
    graph = import_graph(pkg)
    problems = broken_rules(graph)
    assert "builder.picture.eye (wing picture) imports builder.music.ear (wing music)" in problems
    assert (
        "builder.music.ear (wing music) imports builder.picture.eye (wing picture)" in problems
    )  # typing too
    assert "builder.gallery.site imports builder.cli: only the hall may" in problems
    assert "builder.context imports builder.pipeline back" in problems
    assert len(problems) == 4
    assert cycles(graph) == [
        ["builder.music.ear", "builder.music.tune"]
    ]  # the typing-only import is no cycle


def test_every_public_function_of_a_wing_has_type_hints():
    """What mypy checks (CI runs it on the wings) is only as good as the hints: every public function and method
    of builder/picture, builder/music and builder/gallery names its arguments' and its result's types."""
    missing = []
    for path in sorted((ROOT / "builder").rglob("*.py")):
        if wing(module_name(path, ROOT)) == "hall":
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
