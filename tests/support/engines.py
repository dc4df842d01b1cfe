"""The browser engines the page is tested in: Debian's chromium and firefox-esr through
Playwright (its own browser downloads cannot be had here), and WebKitGTK's MiniBrowser
through Selenium and WebKitWebDriver (Debian's webkit2gtk-driver) in an Xvfb display.

The two differ in how a test sets the system's colour scheme: Chromium emulates it per
context, while Firefox 153 ignores Playwright's emulation (checked: `matchMedia` stays
light with `color_scheme="dark"` and after `emulate_media`) and reads it from the
`ui.systemUsesDarkTheme` pref at launch. So an engine launches a browser per scheme where
it must, on first need.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

ENGINES = ("chromium", "firefox")  # through Playwright; WebKit has its own smoke test
EXECUTABLES = {"chromium": shutil.which("chromium"), "firefox": shutil.which("firefox-esr")}
PACKAGES = {"chromium": "chromium", "firefox": "firefox-esr"}
WEBKIT_DRIVER = shutil.which("WebKitWebDriver")
# The browser WebKitWebDriver drives ships in libwebkit2gtk (under the machine's multiarch
# folder), not in webkit2gtk-driver itself.
MINIBROWSER = next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-*/MiniBrowser"))), None)
XVFB = shutil.which("Xvfb")


def missing(reason: str) -> None:
    """A browser test cannot run here: a loud failure under CI=true, else a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason, allow_module_level=True)  # in a fixture, or a module's imports
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


class Engine:
    """One engine's browsers for a test module, and contexts in a given colour scheme."""

    def __init__(self, name: str, playwright: Any) -> None:
        self.name = name
        self._playwright = playwright
        self._browsers: dict[str, Any] = {}
        self._browser("light")  # a browser that cannot start fails the first test

    def _browser(self, color_scheme: str) -> Any:
        key = color_scheme if self.name == "firefox" else "emulated"
        if key not in self._browsers:
            if self.name == "chromium":
                self._browsers[key] = self._playwright.chromium.launch(
                    executable_path=EXECUTABLES["chromium"], headless=True, args=CHROMIUM_ARGS)
            else:
                self._browsers[key] = self._playwright.firefox.launch(
                    channel="moz-firefox", executable_path=EXECUTABLES["firefox"],
                    headless=True,
                    firefox_user_prefs={"ui.systemUsesDarkTheme": int(color_scheme == "dark")})
        return self._browsers[key]

    def new_context(self, color_scheme: str = "light", **options: Any) -> Any:
        """A context (own cookies and storage) whose system scheme is `color_scheme`."""
        if self.name == "chromium":
            options["color_scheme"] = color_scheme
        return self._browser(color_scheme).new_context(**options)

    def close(self) -> None:
        for browser in self._browsers.values():
            browser.close()


# What Firefox reports as page errors that are not the page's: the style Playwright adds
# to take a screenshot (its caret hider, blocked by the page's CSP, which is right to), and
# its own notes on a socket it closed on navigation or could not open (the server gone).
# Chromium says the same of sockets on its console, which no test counts. Matched whole.
FIREFOX_NOISE = [re.compile(pattern) for pattern in (
    re.escape("The page’s settings blocked an inline style (style-src-elem) from being "
              "applied because it violates the following directive: “style-src 'self'”. "
              "Consider using a hash ('sha256-YjaKGiklmzC6wjXA513HAMmzus8VE61XCOT+SmwNZWA=', "
              "requires 'unsafe-hashes' for style attributes) or a nonce."),
    r"The connection to ws://127\.0\.0\.1:\d+/ws was interrupted while the page was loading\.",
    r"Firefox can’t establish a connection to the server at ws://127\.0\.0\.1:\d+/ws\.",
)]


def is_noise(text: str) -> bool:
    return any(pattern.fullmatch(text) for pattern in FIREFOX_NOISE)


def watch_errors(page: Any) -> list[str]:
    """The page's script errors and what its Content-Security-Policy blocked, as they come."""
    errors: list[str] = []
    page.on("pageerror", lambda error: None if is_noise(str(error))
            else errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    return errors


@contextmanager
def xvfb_display() -> Iterator[str]:
    """A display of its own for a browser with no headless mode: Xvfb picks a free number
    and says it (-displayfd), so parallel runs never collide."""
    read, write = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1280x900x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as said:
            number = said.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit status {server.poll()})")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def webkit_driver(display: str) -> Any:
    """MiniBrowser under WebKitWebDriver, on `display`.

    `--automation` is what WebKitWebDriver's capabilities match on (without it: "Failed to
    match capabilities"); windows opened by script are allowed so that the page's error
    collector can be in place before the app's first script (see the WebKit test).
    """
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    options = Options()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    options.add_argument("--javascript-can-open-windows-automatically=true")
    service = Service(executable_path=WEBKIT_DRIVER, env={**os.environ, "DISPLAY": display})
    return webdriver.WebKitGTK(options=options, service=service)
