"""The page as an app, in Chromium: search across conversations, accessibility (axe-core),
installable (manifest, service worker, offline shell)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from .test_browser import LiveServer, expect, needs_chromium, open_chat, send, stored_reply

pytestmark = needs_chromium


def import_conversation(tab, url: str, title: str, texts: list[str]) -> int:
    """Store a conversation through the page's own cookie (as the Import button does)."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                for i, text in enumerate(texts)]
    response = tab.request.post(url + "/api/conversations/import", data={
        "format": "ollama-webchat/1", "title": title, "messages": messages},
        headers={"Origin": url})
    assert response.status == 201, response.text()
    return response.json()["id"]


SEARCH_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "search.png"
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

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
REPLY_WITH_CODE = ("## Result\n\n| name | size |\n| --- | ---: |\n| a | 1 |\n\n"
                   "```python\ndef add(a, b):\n    return a + b  # sum\n```\n\nUse `add` *gladly*.")


def serious_violations(tab) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    return tab.evaluate("""async () => {
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


@pytest.fixture
def axe_page(browser, live_server):
    """A tab with axe-core injected before the page's scripts (a test-only tool)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: scripts/test.sh installs it with npm")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(AXE))
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []


def settled(tab) -> None:
    """Wait for colour transitions (a theme switch fades backgrounds) before measuring."""
    tab.wait_for_function("() => !document.getAnimations().some((a) => a instanceof "
                          "CSSTransition && /color|background/.test(a.transitionProperty))")


def test_axe_finds_no_serious_violations(axe_page, live_server, fake_ollama):
    tab = axe_page
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

    import_conversation(tab, live_server.url, "Older messages",
                        [f"message {i} with `code` and a [link](https://example.com)"
                         for i in range(30)])
    tab.reload()
    tab.locator("#conversation-list .conversation-open", has_text="Older messages").click()
    expect(tab.locator(".message.out-of-context").first).to_be_attached()
    tab.locator(".message.out-of-context").first.scroll_into_view_if_needed()
    check("messages outside the context window")

    tab.emulate_media(color_scheme="dark")
    check("dark theme")
    tab.set_viewport_size({"width": 390, "height": 800})
    tab.click("#sidebar-toggle")
    expect(tab.locator("#new-chat")).to_be_in_viewport()
    check("phone with the drawer open")
    tab.fill("#search-input", "message code")
    expect(tab.locator("#search-results mark").first).to_be_visible()
    check("search results, dark, on a phone")
    bad = {state: v for state, v in found.items() if v}
    assert bad == {}, json.dumps(bad, indent=1)


def test_keyboard_reaches_everything_with_a_visible_focus(page, live_server):
    """Tab goes through the page; every stop shows an outline or a focus ring."""
    open_chat(page, live_server.url)
    send(page, "hello")
    expect(stored_reply(page)).to_contain_text("You said: hello")
    page.locator("body").focus()
    seen: list[dict] = []
    for _ in range(45):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("""() => {
            const el = document.activeElement;
            const ring = (node) => {
                const style = getComputedStyle(node);
                return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                    || style.boxShadow !== "none";
            };
            // The element's own ring, or its box's (the composer rings its textarea).
            const shown = [el, el.parentElement, el.parentElement?.parentElement]
                .some((node) => node && node !== document.body && ring(node));
            return { what: el.id || el.className || el.tagName,
                     visible: el === document.body || shown };
        }"""))
    assert [s["what"] for s in seen if not s["visible"]] == []
    reached = {s["what"] for s in seen}
    for control in ("search-input", "new-chat", "prompt", "action copy-button"):
        assert control in reached, reached


# -- installable -----------------------------------------------------------------------------


def test_installable_and_reloads_offline_with_the_server_unreachable(page, tmp_path,
                                                                       fake_ollama):
    server = LiveServer(tmp_path / "offline", fake_ollama.url)
    try:
        open_chat(page, server.url)
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == server.url + "/"
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        cdp = page.context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == server.url + "/static/manifest.webmanifest"
        assert manifest["errors"] == [], manifest["errors"]
        parsed = json.loads(manifest["data"])
        assert parsed["display"] == "standalone" and parsed["short_name"]
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # Playwright's contexts are incognito ones: the only reason left is the test's own.
        assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == [], errors
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
    finally:
        server.stop()
    page.reload()  # the server is gone: the saved app shows, saying so
    expect(page.locator("#server-banner")).to_be_visible()
    expect(page.locator("#server-banner")).to_contain_text("unreachable")
    expect(page.locator("#prompt")).to_be_visible()
    expect(page.locator("#connection-status")).not_to_have_text("Connected")
