"""The page as an app, in Chromium: search across conversations, accessibility (axe-core),
installable (manifest, service worker, offline shell)."""

from __future__ import annotations

import pytest

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from .test_browser import (  # noqa: F401
    CHROMIUM,
    browser,
    expect,
    open_chat,
    page,
    send,
    stored_reply,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)"),
]


def import_conversation(tab, url: str, title: str, texts: list[str]) -> int:
    """Store a conversation through the page's own cookie (as the Import button does)."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                for i, text in enumerate(texts)]
    response = tab.request.post(url + "/api/conversations/import", data={
        "format": "ollama-webchat/1", "title": title, "messages": messages},
        headers={"Origin": url})
    assert response.status == 201, response.text()
    return response.json()["id"]


def test_search_marks_matches_as_text_and_opens_the_message(page, live_server):  # noqa: F811
    url = live_server.url
    open_chat(page, url)
    send(page, "a <b>kestrel</b> hovers")
    expect(stored_reply(page)).to_contain_text("You said:")
    filler = [f"filler message number {i} " + "lorem ipsum " * 20 for i in range(80)]
    filler[12] = "the zebra crossing is here"
    long_id = import_conversation(page, url, "Long one", filler)
    page.reload()
    expect(page.locator("#connection-status")).to_have_text("Connected")

    page.keyboard.press("Control+k")
    box = page.locator("#search-input")
    expect(box).to_be_focused()
    box.fill("kestrel")
    hits = page.locator("#search-results .search-open")
    expect(hits).to_have_count(2)
    snippet = hits.first.locator(".search-hit-snippet")
    expect(snippet).to_contain_text("<b>kestrel</b>")  # the user's text, shown as text
    expect(snippet.locator("b")).to_have_count(0)
    expect(snippet.locator("mark")).to_have_text(["kestrel"])
    expect(page.locator("#conversation-list")).to_be_hidden()

    box.fill("zebra cross")  # the last word is a prefix
    expect(hits).to_have_count(1)
    expect(hits.first.locator("mark")).to_have_text(["zebra", "crossing"])
    page.keyboard.press("ArrowDown")
    expect(hits.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Long one")
    target = page.locator(f".message[data-id='{hit_id(page, long_id, 12)}']")
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()

    box.focus()
    page.keyboard.press("Escape")  # clears the search: the conversation list is back
    expect(box).to_have_value("")
    expect(page.locator("#conversation-list")).to_be_visible()
    expect(page.locator("#search-results")).to_be_hidden()


def hit_id(tab, conversation: int, index: int) -> int:
    history = tab.evaluate(f"fetch('api/history?conversation={conversation}')"
                            ".then((r) => r.json())")
    return history["messages"][index]["id"]
