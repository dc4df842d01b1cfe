"""What the page tests do in a browser, as a person would: open the chat, send, type
into a field, find the last reply; and axe-core's findings (a test-only tool, installed
by scripts/test.sh into the git-ignored tests/js/, never served)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .engines import missing
from .live import ROOT

try:  # `expect` is Playwright's, also taken from here: one guard for every page module
    from playwright.sync_api import Page, expect
except ImportError:  # scripts/test.sh installs it; a failure under CI=true
    missing("the playwright Python package is not installed (pip install -r "
            "requirements-dev.txt)")

MODEL = "gemma3:270m"
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    expect(page.locator("#model-select option[value='gemma3:270m']")).to_have_count(1)
    page.select_option("#model-select", MODEL)
    expect(page.locator("#send")).to_be_enabled()


def open_settings(page: Page) -> None:
    """Open the conversation's settings panel from the header's chip, if it is closed."""
    chip = page.locator("#settings-chip")
    if chip.get_attribute("aria-expanded") != "true":
        chip.click()
    expect(page.locator("#settings-panel")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def type_into(page: Page, selector: str, text: str) -> None:
    """Replace a field's value by typing, then leave it with Tab, as a person does.

    `fill()` sets the value without the user-edit flag, so Firefox fires no `change` when
    the field is left (measured: fill + Tab gives input and blur only); typed keys do.
    """
    page.fill(selector, "")
    page.locator(selector).press_sequentially(text)
    page.press(selector, "Tab")


def last_reply(page: Page):
    return page.locator(".message.assistant").last


def stored_reply(page: Page):
    """The last reply once re-drawn from /api/history (a streamed one has data-id 0)."""
    return page.locator(".message.assistant:not([data-id='0'])").last


def export_json_then_import(page: Page, path: Path) -> None:
    """Download the open conversation as JSON with the page's menu, then import it."""
    page.click("#export-menu summary")
    with page.expect_download() as download:
        page.click("#export-json")
    download.value.save_as(path)
    page.set_input_files("#import-file", str(path))


def history_of(page: Page) -> dict:
    return page.evaluate("""() => fetch('api/conversations').then(r => r.json())
        .then(list => fetch('api/history?conversation=' + list.conversations[0].id))
        .then(r => r.json())""")


def serious_violations(tab) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    return tab.evaluate("""async () => {
        // A colour still in its transition (a button enabled a moment ago fades in over
        // 0.15 s) is measured half-way: on a busy machine axe read Send at 3.15:1 between
        // its disabled and enabled looks. Let every finite animation end first.
        await Promise.all(document.getAnimations()
            .filter((a) => a.effect && a.effect.getTiming().iterations !== Infinity)
            .map((a) => a.finished.catch(() => null)));
        // Messages far from the view skip layout (content-visibility), so axe would not
        // see their background: draw them all while it measures.
        const skipped = [...document.querySelectorAll(".message")];
        skipped.forEach((m) => { m.style.contentVisibility = "visible"; });
        const result = await axe.run(document, { resultTypes: ["violations"] });
        skipped.forEach((m) => { m.style.contentVisibility = ""; });
        return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 6).map((n) => n.target.join(" ")
                               + " " + JSON.stringify(n.any.map((a) => a.data))) }));
    }""")


def import_chat(page: Page, path: Path, title: str, messages: list[dict[str, Any]]) -> None:
    """Import a conversation with the page's Import button; wait until all of it is there."""
    path.write_text(json.dumps({"format": "ollama-webchat/1", "title": title,
                                "messages": messages}))
    page.set_input_files("#import-file", str(path))
    expect(page.locator("#chat-title")).to_have_text(title)
    expect(page.locator(".message")).to_have_count(len(messages))
