"""The house's shape, kept: families as folders one level deep, the "never imports" rule
each family's docstring states, no import circle (typing-only imports count), and no
source file past 400 lines. Read from the source with `ast`: nothing is imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webchat"
MAX_TOP_MODULES = 8
MAX_FOLDER_MODULES = 14
MAX_LINES = 400
SOURCES = [(PACKAGE, "*.py"), (ROOT / "static" / "js", "*.js"),
           (ROOT / "static" / "css", "*.css")]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports, by any import
    statement anywhere in it (inside functions and `if TYPE_CHECKING:` included)."""
    files = {module_name(path, package): path for path in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]  # `from .x import name`: module x
                if target and target != name:
                    found.add(target)
        graph[name] = found
    for targets in graph.values():  # importing a module is not importing its parent
        targets.difference_update({t for t in targets if t != package.name
                                   and any(o.startswith(t + ".") for o in targets)})
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def family(module: str, package: str = PACKAGE.name) -> str:
    """`webchat.store.history` -> "store"; a module at the top is its own name."""
    return module.removeprefix(package + ".").split(".")[0] if module != package \
        else "__init__"


def never_imports(folder: Path) -> set[str]:
    """What a family's docstring says it never imports: 'Never imports a, b or c.'"""
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    said = re.search(r"Never imports ([^.:;]*)[.:;]", " ".join((doc or "").split()))
    assert said, f"{folder.name}/__init__.py says nothing of what it never imports"
    text = said.group(1)
    if text.startswith("any other family"):  # "any other family of the package"
        return {"*"}
    return {word for word in re.split(r",\s*|\s+or\s+", text.replace("the ", "")) if word}


def family_folders(package: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in package.iterdir() if (p / "__init__.py").is_file())


def broken_rules(package: Path = PACKAGE) -> list[str]:
    graph = import_graph(package)
    folders = {folder.name: never_imports(folder) for folder in family_folders(package)}
    broken = []
    for module, targets in graph.items():
        banned = folders.get(family(module, package.name))
        if not banned:
            continue
        for target in targets:
            other = family(target, package.name)
            if other == family(module, package.name):
                continue
            if "*" in banned or other in banned:
                broken.append(f"{module} imports {target}")
    return sorted(broken)


# The rows of docs/architecture.md: a family imports only from the rows below its own.
ROWS = {"api": 5, "ws": 5, "pages": 5, "compression": 5, "services": 4, "refusals": 4,
        "relay": 3, "models": 3, "files": 3, "store": 2, "guard": 1, "config": 0, "validation": 0,
        "ollama": -1}


def test_each_family_imports_only_from_the_rows_below_it():
    upward = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                    for target in targets if family(module) in ROWS and family(target) in ROWS
                    and family(module) != family(target)
                    and ROWS[family(target)] >= ROWS[family(module)])
    assert upward == []
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert ({f.name for f in family_folders()} | top) - {"serve"} == set(ROWS)  # serve: above


def test_the_readme_names_every_module_under_its_family():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    bullets = {bullet.split("`", 2)[1]: bullet for bullet in section.split("\n- ")[1:]
               if bullet.startswith("`")}
    missing = []
    for folder in family_folders():
        bullet = bullets.get(f"webchat/{folder.name}/", "")
        missing += [f"{folder.name}/{p.name}" for p in folder.glob("*.py")
                    if p.name != "__init__.py" and f"`{p.name}`" not in bullet]
    at_top = next((b for b in section.split("\n- ") if b.startswith("At the top")), "")
    missing += [p.name for p in PACKAGE.glob("*.py")
                if p.name != "__init__.py" and f"`{p.name}`" not in at_top]
    assert missing == []


def test_no_family_imports_what_its_docstring_says_it_never_imports():
    assert broken_rules() == []


def test_there_is_no_import_circle_in_the_package():
    assert circles(import_graph()) == []


def test_families_are_folders_one_level_deep_and_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    for folder in family_folders():
        assert not [p for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"], \
            f"{folder.name}/ has a folder in it: one level deep"
        modules = list(folder.glob("*.py"))
        assert len(modules) <= MAX_FOLDER_MODULES, f"{folder.name}/: {len(modules)} modules"


def test_no_source_file_is_longer_than_400_lines():
    long = {str(path.relative_to(ROOT)): lines
            for folder, pattern in SOURCES for path in folder.rglob(pattern)
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_catch_a_circle_and_a_broken_rule(tmp_path):
    """The checks above can fail: a package with a circle and a family that imports what
    it says it never imports."""
    package = tmp_path / "webchat"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "top.py").write_text("y = 1\n")
    (package / "low" / "__init__.py").write_text('"""Low. Never imports any other family."""')
    (package / "low" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import b\n")
    (package / "low" / "b.py").write_text("from .a import x\nfrom ..top import y\n")
    assert circles(import_graph(package)) == [["webchat.low.a", "webchat.low.b"]]
    assert broken_rules(package) == ["webchat.low.b imports webchat.top"]
