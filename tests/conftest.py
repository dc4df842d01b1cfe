"""One fixture per real thing: stand-in Ollama, live app, browser-like client, browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from webchat import create_app, shutdown

from .support.engines import (
    ENGINES,
    EXECUTABLES,
    MINIBROWSER,
    PACKAGES,
    WEBKIT_DRIVER,
    XVFB,
    Engine,
    missing,
    watch_errors,
    webkit_driver,
    xvfb_display,
)
from .support.fake_ollama import DEFAULT_RELEASE, FakeOllama
from .support.live import BrowserClient, LiveServer
from .support.real import OLDER_SKIP_REASON, OLDER_URL, REAL_URL, REPLY_TIMEOUT, SKIP_REASON

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser fixtures say so (a failure under CI=true)
    sync_playwright = None
else:
    # Playwright's 5 s for an expectation is short for 2 cores shared by other runs: at a
    # load average of 18-25, Firefox's first socket was still "Reconnecting…" after 5 s
    # and a long chat's oldest reply took longer to be drawn. A passing check returns as
    # soon as it holds, so only a failing one waits the whole time.
    expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests in a browser get the `browser` mark; a Chromium-only test is skipped in the
    other engines with its reason, so the summary says what Firefox did not check."""
    for item in items:
        if "engine" not in getattr(item, "fixturenames", ()):
            continue
        item.add_marker(pytest.mark.browser)
        only = item.get_closest_marker("chromium_only")
        engine = getattr(item, "callspec", None) and item.callspec.params.get("engine")
        if only and engine != "chromium":
            item.add_marker(pytest.mark.skip(
                reason=f"Chromium only: {only.kwargs['reason']}"))


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
    skipped = terminalreporter.stats.get("skipped", [])
    real = [report for report in skipped if "real_ollama" in getattr(report, "keywords", {})]
    if real and not REAL_URL:
        terminalreporter.write_line(
            f"{len(real)} real-Ollama test(s) skipped: {SKIP_REASON}", yellow=True)
    chromium_only = [report for report in skipped
                     if "chromium_only" in getattr(report, "keywords", {})]
    if chromium_only:
        terminalreporter.write_line(
            f"{len(chromium_only)} test(s) ran in Chromium only (each says why with -ra)",
            yellow=True)


@pytest.fixture
def fake_ollama(request: pytest.FixtureRequest) -> Iterator[FakeOllama]:
    """Start a stand-in Ollama on a free loopback port, answering as the release the test
    asks for (`@pytest.mark.parametrize("fake_ollama", ["0.24.0"], indirect=True)`), else
    as today's (DEFAULT_RELEASE)."""
    fake = FakeOllama(release=getattr(request, "param", DEFAULT_RELEASE)).start()
    yield fake
    fake.stop()


@pytest.fixture
def make_server(tmp_path, fake_ollama) -> Iterator[Callable[..., LiveServer]]:
    """Serve the app on real ports: `make_server(**config)` starts one with that config,
    a fresh data folder of its own and the stand-in; `data_dir=` reuses a folder (a
    restart), `ollama_url=` points it elsewhere. Whatever the test left running is
    stopped after it."""
    servers: list[LiveServer] = []

    def make(data_dir: Path | None = None, ollama_url: str | None = None,
             **config: Any) -> LiveServer:
        folder = data_dir or tmp_path / ("data" if not servers else f"data-{len(servers) + 1}")
        server = LiveServer(folder, fake_ollama.url if ollama_url is None else ollama_url,
                            **config)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """The app on a real port against the stand-in, with a fresh data folder."""
    return make_server()


@pytest.fixture
def app(tmp_path, fake_ollama) -> Iterator[Flask]:
    """The app against the stand-in with a fresh data folder, on no port: for tests of
    the HTTP API that need no socket (see `client`)."""
    built = create_app({"DATA_DIR": str(tmp_path / "data"), "OLLAMA_URL": fake_ollama.url,
                        "HOST": "127.0.0.1", "CONNECT_TIMEOUT": 2.0, "READ_TIMEOUT": 10.0})
    yield built
    shutdown(built, unload=False)


@pytest.fixture
def client(app: Flask) -> Any:
    """Flask's test client on `app`, that has opened the page (and so holds a session
    cookie), as the `user` fixture's browser-like client has."""
    test_client = app.test_client()
    assert test_client.get("/").status_code == 200
    return test_client


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


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each browser engine in turn, one launch for the whole module.

    A missing browser skips with the command that installs it, and fails under CI=true
    (scripts/test.sh installs both): nothing is skipped silently there.
    """
    if sync_playwright is None:
        missing("the playwright Python package is not installed (pip install -r "
                "requirements-dev.txt)")
    name = request.param
    if EXECUTABLES[name] is None:
        missing(f"{name} is not installed (apt install {PACKAGES[name]})")
    with sync_playwright() as playwright:
        launched = Engine(name, playwright)
        yield launched
        launched.close()


@pytest.fixture
def open_tab(engine: Engine) -> Iterator[Callable[..., Any]]:
    """Open tabs, each in its own context (own cookies and storage):
    `open_tab(color_scheme="dark", init_script=path, **context_options)`.

    The scheme is checked to have taken (Firefox ignores Playwright's emulation, see
    tests/support/engines.py); a script error or anything the Content-Security-Policy blocks in
    any of them fails the test; all are closed after it.
    """
    opened: list[tuple[Any, list[str]]] = []

    def open_(color_scheme: str = "light", init_script: str | None = None,
              **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = engine.new_context(color_scheme, **options)
        if init_script:
            context.add_init_script(path=init_script)
        tab = context.new_page()
        opened.append((context, watch_errors(tab)))
        dark = tab.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (color_scheme == "dark"), f"{engine.name} did not take {color_scheme}"
        return tab

    yield open_
    for context, _ in opened:
        context.close()
    errors = [error for _, found in opened for error in found]
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture
def page(open_tab: Callable[..., Any]) -> Any:
    """A fresh tab at 1280×800 in the light scheme (see open_tab)."""
    return open_tab()


@pytest.fixture(scope="module")
def webkit() -> Iterator[Any]:
    """WebKitGTK's MiniBrowser through Selenium, in an Xvfb display of its own (it has no
    headless mode); one browser for the module."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing("the selenium Python package is not installed (pip install -r "
                "requirements-dev.txt)")
    if WEBKIT_DRIVER is None or MINIBROWSER is None:
        missing("WebKitGTK's driver is not installed (apt install webkit2gtk-driver)")
    if XVFB is None:
        missing("Xvfb is not installed (apt install xvfb)")
    with xvfb_display() as display:
        driver = webkit_driver(display)
        yield driver
        driver.quit()
