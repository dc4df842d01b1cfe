"""Installable the Python way: the wheel `pip install .` builds holds the whole package and
the page, and its `ollama-webchat` command serves the same app as `python run.py`, from a
fresh venv outside the checkout.

The wheel is built from a copy of the tree (so the checkout gains no build/ or egg-info)
without build isolation (setuptools comes from requirements-dev.txt, so no download), and
the venv sees the machine's site-packages for flask, requests and flask-sock: what is
tested is the wheel's content and its entry point, not pip's resolver."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import requests

from .support.live import start_command

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "requirements.txt", "webchat", "templates", "static")


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "--disable-pip-version-check", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("ollama_webchat-*.whl")
    return wheel


def _tree_files() -> set[str]:
    """What the wheel must hold: every module of the package, and every file of the page
    under the package's name."""
    files = {str(path.relative_to(ROOT)) for path in (ROOT / "webchat").rglob("*.py")}
    for folder in ("templates", "static"):
        files |= {f"webchat/{path.relative_to(ROOT)}" for path in (ROOT / folder).rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts}
    return files


def test_the_wheel_holds_the_package_and_the_page(tmp_path):
    with zipfile.ZipFile(_build_wheel(tmp_path)) as wheel:
        names = set(wheel.namelist())
        entry_points = next(wheel.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
    missing = {name for name in _tree_files() if name not in names}
    assert missing == set()
    assert re.search(r"^ollama-webchat = webchat\.serve\.command:main$", entry_points, re.M)


def test_the_installed_command_serves_the_app_from_a_fresh_venv(tmp_path, fake_ollama):
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                    "--no-index", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    outside = tmp_path / "elsewhere"  # not the checkout: `import webchat` is the venv's
    outside.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import webchat; print(webchat.__file__)"],
                           cwd=outside, check=True, capture_output=True, text=True).stdout
    assert Path(where.strip()).is_relative_to(venv), where

    process, lines = start_command([str(venv / "bin" / "ollama-webchat")], outside,
                                   tmp_path / "data", fake_ollama.url)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", "".join(lines)).group(0)
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and '<script type="module"' in page.text
        served = requests.get(url + "static/js/app.js", timeout=10)
        assert served.status_code == 200
        assert served.text == (ROOT / "static" / "js" / "app.js").read_text(encoding="utf-8")
        models = requests.get(url + "api/models", timeout=10).json()["models"]
        assert any(m["name"] == "gemma3:270m" for m in models)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
