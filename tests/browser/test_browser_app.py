"""The page as an app, in Chromium and Firefox: search across conversations,
accessibility (axe-core), installable (manifest, service worker, offline shell)."""

from __future__ import annotations

import json
import os

import pytest

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.live import ROOT
from ..support.page import (
    AXE,
    expect,
    open_chat,
    open_settings,
    send,
    serious_violations,
    stored_reply,
)


def import_conversation(tab, url: str, title: str, texts: list[str]) -> int:
    """Store a conversation through the page's own cookie (as the Import button does)."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                for i, text in enumerate(texts)]
    response = tab.request.post(url + "/api/conversations/import", data={
        "format": "ollama-webchat/1", "title": title, "messages": messages},
        headers={"Origin": url})
    assert response.status == 201, response.text()
    return response.json()["id"]


SEARCH_SCREENSHOT = ROOT / "docs" / "search.png"
COMMUTE = ["Which route is quickest to the office by bike?",
           "Along the canal: 6 km, mostly flat, about 22 minutes.",
           "What should I carry for a puncture?",
           "A spare tube, two tyre levers and a mini pump."]


def test_search_marks_matches_as_text_and_opens_the_message(page, live_server):
    url = live_server.url
    open_chat(page, url)
    send(page, "a <b>kestrel</b> hovers")
    expect(stored_reply(page)).to_contain_text("You said:")
    texts = [f"{COMMUTE[i % 4]} (day {i // 4 + 1})" for i in range(80)]
    texts[12] = "Can I ride across a zebra crossing, or should I walk the bike?"
    texts[13] = ("In the UK you should dismount: a zebra crossing is for people on foot, "
                 "and drivers may not expect a bike.")
    long_id = import_conversation(page, url, "Cycling to work", texts)
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
    expect(hits).to_have_count(2)
    expect(hits.first.locator("mark")).to_have_text(["zebra", "crossing"])
    page.keyboard.press("ArrowDown")
    expect(hits.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Cycling to work")
    first_hit = int(hits.first.get_attribute("data-message"))
    assert first_hit in (hit_id(page, long_id, 12), hit_id(page, long_id, 13))
    target = page.locator(f".message[data-id='{first_hit}']")
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    if os.environ.get("WEBCHAT_SCREENSHOT"):  # refresh the README's picture on request
        page.mouse.move(0, 0)
        page.screenshot(path=str(SEARCH_SCREENSHOT))

    box.focus()
    page.keyboard.press("Escape")  # clears the search: the conversation list is back
    expect(box).to_have_value("")
    expect(page.locator("#conversation-list")).to_be_visible()
    expect(page.locator("#search-results")).to_be_hidden()


def hit_id(tab, conversation: int, index: int) -> int:
    history = tab.evaluate(f"fetch('api/history?conversation={conversation}')"
                            ".then((r) => r.json())")
    return history["messages"][index]["id"]


# -- accessibility -------------------------------------------------------------------------

REPLY_WITH_CODE = ("## Result\n\n| name | size |\n| --- | ---: |\n| a | 1 |\n\n"
                   "```python\ndef add(a, b):\n    return a + b  # sum\n```\n\nUse `add` *gladly*.")


@pytest.fixture
def axe_tab(open_tab):
    """Open tabs with axe-core injected before the page's scripts (a test-only tool)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: scripts/test.sh installs it with npm")
    return lambda color_scheme="light": open_tab(color_scheme, init_script=str(AXE))


def settled(tab) -> None:
    """Wait for colour transitions (a theme switch fades backgrounds) before measuring."""
    tab.wait_for_function("() => !document.getAnimations().some((a) => a instanceof "
                          "CSSTransition && /color|background/.test(a.transitionProperty))")


def test_axe_finds_no_serious_violations(axe_tab, live_server, fake_ollama):
    tab = axe_tab()
    found: dict[str, list[dict]] = {}

    def check(state: str) -> None:
        settled(tab)
        found[state] = serious_violations(tab)

    open_chat(tab, live_server.url)
    check("empty page")
    # The check can fail: a faint label is caught.
    tab.evaluate("document.getElementById('chat-title').style.color = '#c8ccd2'")
    assert "color-contrast" in {v["id"] for v in serious_violations(tab)}
    tab.evaluate("document.getElementById('chat-title').style.color = ''")

    # A finished reply is announced once, politely, with its text; not token by token.
    tab.evaluate("""() => {
        window.announced = [];
        const region = document.getElementById('reply-announcer');
        new MutationObserver(() => window.announced.push(region.textContent))
            .observe(region, { childList: true, characterData: true, subtree: true });
    }""")
    fake_ollama.script(tokens=[REPLY_WITH_CODE[i:i + 8]
                               for i in range(0, len(REPLY_WITH_CODE), 8)], delay=0.002)
    send(tab, "show me")
    expect(stored_reply(tab).locator(".code-block .hljs-keyword").first).to_be_visible()
    announcer = tab.locator("#reply-announcer")
    assert announcer.get_attribute("aria-live") == "polite"
    assert tab.locator("#messages").get_attribute("aria-live") == "off"
    expect(announcer).to_contain_text("Reply: Result")
    said = [text for text in tab.evaluate("window.announced") if text]
    assert len(said) == 1 and "return a + b" in said[0], said
    check("markdown reply with code")

    tab.keyboard.press("Control+/")
    expect(tab.locator("#help-dialog")).to_be_visible()
    check("help dialog")
    tab.keyboard.press("Escape")
    stored_reply(tab).locator(".inspect-button").click()
    expect(tab.locator("#inspector")).to_be_visible()
    check("inspector")
    tab.keyboard.press("Escape")
    tab.click("#model-info")
    expect(tab.locator("#model-dialog")).to_be_visible()
    check("model details")
    tab.click("#model-delete")
    expect(tab.locator("#confirm-dialog")).to_be_visible()
    check("confirm")
    tab.keyboard.press("Escape")
    expect(tab.locator("#confirm-dialog")).to_be_hidden()
    tab.keyboard.press("Escape")
    expect(tab.locator("#model-dialog")).to_be_hidden()
    open_settings(tab)
    tab.click("#system-box summary")
    tab.click("#params-box summary")
    check("settings panel open")
    tab.keyboard.press("Escape")
    expect(tab.locator("#settings-panel")).to_be_hidden()

    import_conversation(tab, live_server.url, "Older messages",
                        [f"message {i} with `code` and a [link](https://example.com)"
                         for i in range(30)])

    def open_older_messages() -> None:
        tab.reload()
        tab.locator("#conversation-list .conversation-open", has_text="Older messages").click()
        expect(tab.locator(".message.out-of-context").first).to_be_attached()
        tab.locator(".message.out-of-context").first.scroll_into_view_if_needed()

    open_older_messages()
    check("messages outside the context window")

    # The same, with the system's dark scheme: a tab of its own, as Firefox takes the
    # scheme at launch (tests/support/engines.py), with the same cookie and so the same chats.
    cookies = tab.context.cookies()
    tab = axe_tab("dark")
    tab.context.add_cookies(cookies)
    tab.goto(live_server.url)
    open_older_messages()
    check("dark theme")
    open_settings(tab)
    check("settings panel, dark")
    tab.click("#settings-close")
    tab.set_viewport_size({"width": 390, "height": 800})
    tab.click("#sidebar-toggle")
    expect(tab.locator("#new-chat")).to_be_in_viewport()
    check("phone with the drawer open")
    tab.fill("#search-input", "message code")
    expect(tab.locator("#search-results mark").first).to_be_visible()
    check("search results, dark, on a phone")
    bad = {state: v for state, v in found.items() if v}
    assert bad == {}, json.dumps(bad, indent=1)


FOCUS_STOP = """() => {
    const el = document.activeElement;
    const ring = (node) => {
        const style = getComputedStyle(node);
        return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
            || style.boxShadow !== "none";
    };
    // The element's own ring, or its box's (the composer rings its textarea).
    const shown = [el, el.parentElement, el.parentElement?.parentElement]
        .some((node) => node && node !== document.body && ring(node));
    return { what: el.id || el.className || el.tagName, left: el === document.body,
             visible: shown };
}"""


def focus_walk(page, start: str, key: str, limit: int = 80) -> list[dict]:
    """The stops `key` visits from `start` until focus leaves the page."""
    page.locator(start).focus()
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press(key)
        stop = page.evaluate(FOCUS_STOP)
        if stop["left"]:
            return stops
        stops.append(stop)
    raise AssertionError(f"{key} never left the page in {limit} stops: {stops}")


def test_keyboard_reaches_everything_with_a_visible_focus(page, live_server):
    """Tab goes through the page; every stop shows an outline or a focus ring.

    One walk goes from the composer to the end, another, in a second tab, from Send back
    to the top: past an end focus leaves the page, and headless Firefox gives it back to
    no page, so a walk that went round would see no ring there (measured:
    `document.hasFocus()` stays false after Tab, a click, `focus()` or bringing the page
    to the front).
    """
    open_chat(page, live_server.url)
    send(page, "hello")
    expect(stored_reply(page)).to_contain_text("You said: hello")
    seen = focus_walk(page, "#prompt", "Tab")
    other = page.context.new_page()
    open_chat(other, live_server.url)
    expect(stored_reply(other)).to_contain_text("You said: hello")
    seen += focus_walk(other, "#send", "Shift+Tab")
    assert [s["what"] for s in seen if not s["visible"]] == []
    reached = {s["what"] for s in seen}
    for control in ("search-input", "new-chat", "prompt", "send", "action copy-button"):
        assert control in reached, reached


# -- installable -----------------------------------------------------------------------------


# The service worker controls the page: waited for in the page, not polled, as Playwright
# polls a string with eval, which the page's CSP refuses (and the page fixture counts).
CONTROLLED = """() => navigator.serviceWorker.controller || new Promise((resolve) =>
    navigator.serviceWorker.addEventListener("controllerchange", resolve))"""


def test_installable_and_reloads_offline_with_the_server_unreachable(page, make_server):
    server = make_server()
    open_chat(page, server.url)
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == server.url + "/"
    page.evaluate(CONTROLLED)
    href = page.locator("link[rel=manifest]").evaluate("(link) => link.href")
    assert href == server.url + "/static/manifest.webmanifest"
    parsed = page.evaluate("(href) => fetch(href).then((r) => r.json())", href)
    assert parsed["display"] == "standalone" and parsed["short_name"]
    cached = page.evaluate("""async () => {
        const urls = [];
        for (const key of await caches.keys()) {
            const cache = await caches.open(key);
            urls.push(...(await cache.keys()).map((r) => r.url));
        }
        return urls;
    }""")
    assert server.url + "/" in cached and server.url + "/static/js/app.js" in cached
    assert not [url for url in cached if "/api/" in url or url.endswith("/ws")], cached
    server.stop()
    page.reload()  # the server is gone: the saved app shows, saying so
    expect(page.locator("#server-banner")).to_be_visible()
    expect(page.locator("#server-banner")).to_contain_text("unreachable")
    expect(page.locator("#prompt")).to_be_visible()
    expect(page.locator("#connection-status")).not_to_have_text("Connected")


@pytest.mark.chromium_only(reason="the manifest's parse errors and the installability "
                                  "checks are Chromium's, read through its DevTools protocol")
def test_chromium_finds_the_manifest_whole_and_the_app_installable(page, live_server):
    open_chat(page, live_server.url)
    page.evaluate(CONTROLLED)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == live_server.url + "/static/manifest.webmanifest"
    assert manifest["errors"] == [], manifest["errors"]
    parsed = json.loads(manifest["data"])
    assert parsed["display"] == "standalone" and parsed["short_name"]
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito ones: the only reason left is the test's own.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == [], errors
