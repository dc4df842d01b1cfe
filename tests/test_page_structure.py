"""The page's modules stay a house one can find one's way in: no import circle among
static/js modules, and no JS or CSS file past 400 lines (split by concern before that)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import webchat

PACKAGE = Path(webchat.__file__).resolve().parent
STATIC = next(path for path in (PACKAGE / "static", PACKAGE.parent / "static") if path.is_dir())
MAX_LINES = 400
# `import {a} from "./x.js"`, `import "./x.js"`, `export {a} from "./x.js"`, over several
# lines too; a dynamic import() loads lazily and cannot make a circle at load time.
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b[^;"\'()]*?["\'](\./[^"\']+\.js)["\']',
                           re.MULTILINE)


def imports(folder: Path) -> dict[str, set[str]]:
    """Each module of `folder` -> the sibling modules it imports statically."""
    graph = {}
    for path in sorted(folder.glob("*.js")):
        found = STATIC_IMPORT.findall(path.read_text(encoding="utf-8"))
        graph[path.name] = {target.removeprefix("./") for target in found}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, as the modules it runs through (strongly connected parts of
    more than one module, or one that imports itself), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == module:
                    break
            if len(part) > 1 or module in graph.get(module, ()):
                found.append(sorted(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def long_files(folder: Path, pattern: str) -> dict[str, int]:
    return {path.name: lines for path in sorted(folder.glob(pattern))
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}


def test_no_import_circle_among_the_page_modules():
    graph = imports(STATIC / "js")
    assert len(graph) > 10 and "app.js" in graph
    assert circles(graph) == []


def test_app_js_is_the_table_of_contents():
    """Every module is reached from app.js (what the page preloads), and none but app.js
    imports the models and controllers it builds."""
    graph = imports(STATIC / "js")
    reached, pending = set(), ["app.js"]
    while pending:
        module = pending.pop()
        if module not in reached:
            reached.add(module)
            pending += graph[module]
    assert reached == set(graph), set(graph) - reached
    assert "parts.js" not in graph


@pytest.mark.parametrize("pattern", ["js/*.js", "css/*.css"])
def test_no_page_file_over_400_lines(pattern):
    folder, glob = pattern.split("/")
    assert long_files(STATIC / folder, glob) == {}


def test_the_checks_can_fail(tmp_path):
    """A circle through three modules, a module importing itself, and a long file are
    each found; a chain without a circle is not."""
    (tmp_path / "a.js").write_text('import { b } from "./b.js";\nimport "./d.js";\n')
    (tmp_path / "b.js").write_text('import {\n  c,\n} from "./c.js";\n')
    (tmp_path / "c.js").write_text("export { a } from './a.js';\n")
    (tmp_path / "d.js").write_text('import { e } from "./e.js";\n')
    (tmp_path / "e.js").write_text("const later = () => import('./d.js');\n")
    (tmp_path / "f.js").write_text('import { f } from "./f.js";\n' + "//\n" * MAX_LINES)
    graph = imports(tmp_path)
    assert graph["b.js"] == {"c.js"} and graph["e.js"] == set()
    assert circles(graph) == [["a.js", "b.js", "c.js"], ["f.js"]]
    assert long_files(tmp_path, "*.js") == {"f.js": MAX_LINES + 1}
