"""One fixture per real thing: stand-in Ollama, live app, browser-like client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .fake_ollama import DEFAULT_RELEASE, FakeOllama
from .live import BrowserClient, LiveServer
from .real import OLDER_SKIP_REASON, OLDER_URL, REAL_URL, REPLY_TIMEOUT, SKIP_REASON

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser modules skip themselves without it
    sync_playwright = None

CHROMIUM = shutil.which("chromium")


def _version_at(url: str) -> str:
    try:
        return "Ollama " + requests.get(url + "/api/version", timeout=10).json()["version"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        return f"no version: {type(exc).__name__}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front which real Ollama releases this run tests (each asked /api/version)."""
    return [f"real Ollama: {REAL_URL} ({_version_at(REAL_URL)})" if REAL_URL
            else f"real Ollama: none ({SKIP_REASON})",
            f"real Ollama for the contract: {OLDER_URL} ({_version_at(OLDER_URL)})"
            if OLDER_URL else f"real Ollama for the contract: none ({OLDER_SKIP_REASON})"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat it at the end when real-Ollama tests were skipped, even without -ra."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "real_ollama" in getattr(report, "keywords", {})]
    if skipped and not REAL_URL:
        terminalreporter.write_line(
            f"{len(skipped)} real-Ollama test(s) skipped: {SKIP_REASON}", yellow=True)


@pytest.fixture
def fake_ollama(request: pytest.FixtureRequest) -> Iterator[FakeOllama]:
    """Start a stand-in Ollama on a free loopback port, answering as the release the test
    asks for (`@pytest.mark.parametrize("fake_ollama", ["0.24.0"], indirect=True)`), else
    as today's (DEFAULT_RELEASE)."""
    fake = FakeOllama(release=getattr(request, "param", DEFAULT_RELEASE)).start()
    yield fake
    fake.stop()


@pytest.fixture
def live_server(tmp_path, fake_ollama) -> Iterator[LiveServer]:
    """Serve the app on a real port against the stand-in, with a fresh data folder."""
    server = LiveServer(tmp_path / "data", fake_ollama.url)
    yield server
    server.stop()


@pytest.fixture
def user(live_server) -> Iterator[BrowserClient]:
    """A browser-like client that has opened the page (and so holds a session cookie)."""
    client = BrowserClient(live_server)
    yield client
    client.close()


@pytest.fixture(scope="session")
def real_app(tmp_path_factory) -> Iterator[LiveServer]:
    """One app server against the real Ollama for the whole run, so models load once.

    Models stay loaded when a test's browser goes away (KEEP_MODELS_ON_LEAVE): tests that
    need a model unloaded unload it themselves.
    """
    if REAL_URL is None:
        pytest.skip(SKIP_REASON)
    server = LiveServer(tmp_path_factory.mktemp("real-app"), REAL_URL, CONNECT_TIMEOUT=5.0,
                        READ_TIMEOUT=REPLY_TIMEOUT, KEEP_MODELS_ON_LEAVE=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch one headless chromium for the whole module."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab with its own cookies and storage; a script error or anything the
    Content-Security-Policy blocks fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"
