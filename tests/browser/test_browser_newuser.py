"""What a new user hit in the page (issue 13), in Chromium: a streaming conversation
that keeps its own history and settings, replies that outlive a reload and reach every
tab, readable buttons, wide tables, and states that clear."""

from __future__ import annotations

import re

import pytest

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import (
    expect,
    history_of,
    open_chat,
    open_settings,
    send,
    stored_reply,
    type_into,
)

LIVE = ".message.assistant[data-id='0']"  # a reply drawn from its frames, not the history


def settings_of(tab, conversation: int) -> dict:
    return tab.evaluate(f"""() => fetch('api/conversations/{conversation}')
        .then(r => r.json()).then(c => c.settings)""")


def test_a_streaming_reply_keeps_its_conversation_survives_a_reload_and_reaches_tabs(
        page, live_server, fake_ollama):
    open_chat(page, live_server.url)
    open_settings(page)
    page.click("#params-box summary")
    type_into(page, "#p-top_k", "7")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    send(page, "old question")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    first = history_of(page)["conversation"]

    # 32 s of reply: it must outlast the steps below up to the reload, which took more
    # than 16 s in Firefox at a load average of 15-24 (the reload then found it finished).
    fake_ollama.script(tokens=[" x"] * 400, delay=0.08)
    send(page, "long story")
    expect(page.locator(LIVE)).to_contain_text("x x")

    # Another conversation: it says where the reply runs; Send waits; no Stop here.
    page.click("#new-chat")
    status = page.locator("#reply-status")
    expect(status).to_contain_text("A reply is being written in “old question”")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#stop")).to_be_hidden()
    type_into(page, "#p-num_ctx", "512")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")

    # Go there: its own older messages, the live reply at the end, its own settings.
    page.click("#reply-go")
    expect(page.locator(".message.user").first).to_have_text(re.compile("old question"))
    expect(page.locator(LIVE)).to_contain_text("x x")
    expect(page.locator("#p-top_k")).to_have_value("7")
    expect(page.locator("#p-num_ctx")).to_have_value("")
    expect(page.locator("#stop")).to_be_visible()
    expect(status).to_be_hidden()
    type_into(page, "#p-temperature", "0.5")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    assert settings_of(page, first)["options"] == {"top_k": 7, "temperature": 0.5}

    # A second tab of the same browser sees the reply live (frames, not polling).
    other = page.context.new_page()
    other.goto(live_server.url)
    expect(other.locator(LIVE)).to_contain_text("x x")

    # A reload finds the reply still coming, then it ends as usual.
    page.reload()
    expect(page.locator(LIVE)).to_contain_text("x x")
    expect(page.locator(LIVE)).to_have_count(0, timeout=60_000)
    expect(stored_reply(page)).to_contain_text("x x")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    expect(other.locator(LIVE)).to_have_count(0)
    expect(stored_reply(other)).to_contain_text("x x")
    assert fake_ollama.disconnects == 0

    # A reply the other tab starts shows here at once, and Stop there stops it.
    fake_ollama.script(tokens=[" y"] * 400, delay=0.02)
    send(other, "from the other tab")
    expect(page.locator(LIVE)).to_contain_text("y y")
    expect(page.locator(".message.user").last).to_have_text(re.compile("from the other tab"))
    other.click("#stop")
    expect(stored_reply(page)).to_have_attribute("data-status", "stopped")
    # What is known of a stopped reply: tokens, speed, first token.
    expect(stored_reply(page).locator(".stats")).to_contain_text(re.compile(r"\d+ tokens"))
    expect(stored_reply(page).locator(".stats")).to_contain_text("tokens/s")
    # The context meter keeps the last prompt count it knew.
    expect(page.locator("#context-box")).to_be_visible()
    other.close()


# The contrast of an element's text against the first opaque background behind it
# (WCAG 2 relative luminance).
CONTRAST = """(el) => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el;
  while (back && (rgb(getComputedStyle(back).backgroundColor)[3] ?? 1) === 0) {
    back = back.parentElement;
  }
  const bg = back ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""

# Every colour and size combination the page uses, in the places it uses them.
BUTTONS = """() => {
  const add = (where, classes, label) => {
    const button = document.createElement("button");
    button.className = classes;
    button.textContent = label;
    button.dataset.probe = label;
    where.append(button);
  };
  const box = document.createElement("div");
  box.id = "probe";
  document.querySelector(".chat").append(box);
  add(box, "button small danger", "small-danger");
  add(box, "button danger small", "danger-small");
  add(box, "button small primary", "small-primary");
  add(box, "button primary", "primary");
  add(box, "button danger", "danger");
  add(box, "button small secondary", "small-secondary");
  const bubble = document.createElement("article");
  bubble.className = "message user";
  box.append(bubble);
  add(bubble, "button small primary edit-send", "edit-send");
  add(bubble, "button small secondary edit-cancel", "edit-cancel");
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_buttons_are_readable(open_tab, live_server, scheme):
    """Each scheme in a tab of its own: Firefox takes the scheme at launch
    (tests/support/engines.py)."""
    page = open_tab(scheme)
    open_chat(page, live_server.url)
    page.evaluate(BUTTONS)
    for probe in page.locator("[data-probe]").all():
        for hover in (False, True):
            if hover:
                probe.hover()
            ratio = probe.evaluate(CONTRAST)
            label = f"{probe.get_attribute('data-probe')} ({scheme}, hover={hover})"
            assert ratio >= 4.5, f"{label}: contrast {ratio:.2f}"
    danger = page.locator("[data-probe='small-danger']").evaluate(
        "(el) => getComputedStyle(el).backgroundColor")
    assert danger != page.locator("[data-probe='small-secondary']").evaluate(
        "(el) => getComputedStyle(el).backgroundColor")  # small keeps the colour


def test_tables_scroll_and_stops_are_not_failures(page, live_server, fake_ollama):
    open_chat(page, live_server.url)

    # A stop before any text is the user's choice, not a red failure.
    fake_ollama.script(tokens=[" late"], load_delay=3)
    send(page, "never mind")
    expect(page.locator("#stop")).to_be_visible()
    page.click("#stop")
    stopped = page.locator(".message.user.status-failed")
    expect(stopped).to_have_class(re.compile("stopped-by-you"))
    expect(stopped.locator(".failure")).to_have_text(re.compile("You stopped it before any reply"))
    assert stopped.evaluate("(el) => getComputedStyle(el).borderColor") != "rgb(243, 195, 191)"

    # The image hint: not under the input for a model that cannot see; said once on paste.
    expect(page.locator("#attach-reason")).to_be_hidden()
    # The paste a person's Ctrl+V of a picture causes. Firefox copies a constructed
    # event's clipboardData without its files (measured: 0 files in the handler), so the
    # picture goes into the event's own clipboardData when it arrived empty.
    page.evaluate("""() => {
      const picture = () => new File([new Uint8Array([137, 80, 78, 71])], "a.png",
        {type: "image/png"});
      const data = new DataTransfer();
      data.items.add(picture());
      const paste = new ClipboardEvent("paste",
        {clipboardData: data, bubbles: true, cancelable: true});
      if (paste.clipboardData.files.length === 0) paste.clipboardData.items.add(picture());
      document.getElementById("prompt").dispatchEvent(paste);
    }""")
    expect(page.locator("#attach-error")).to_contain_text("cannot see images")
    expect(page.locator("#attach-reason")).to_be_hidden()

    # A wide table scrolls inside the message on a phone; words are not broken apart.
    page.set_viewport_size({"width": 390, "height": 800})
    head = "| " + " | ".join(f"Column{i}" for i in range(8)) + " |\n"
    rule = "|" + " --- |" * 8 + "\n"
    row = "| " + " | ".join("Incomprehensibilities" for _ in range(8)) + " |\n"
    fake_ollama.script(tokens=[head, rule, row], delay=0.01)
    page.fill("#prompt", "a wide table")
    page.press("#prompt", "Enter")
    scroller = stored_reply(page).locator(".table-scroll")
    expect(scroller).to_have_count(1)
    sizes = scroller.evaluate("""(el) => ({scroll: el.scrollWidth, client: el.clientWidth,
      bubble: el.closest('.message').scrollWidth - el.closest('.message').clientWidth,
      cell: el.querySelector('td').getBoundingClientRect().height,
      line: parseFloat(getComputedStyle(el.querySelector('td')).lineHeight)})""")
    assert sizes["scroll"] > sizes["client"]  # it scrolls...
    assert sizes["bubble"] <= 1  # ...inside the message, which does not overflow
    assert sizes["cell"] < 2 * sizes["line"] + 12  # one line: no letters stacked


def test_phone_drawer_title_touch_targets_downloads_and_parameters(
        open_tab, live_server, fake_ollama):
    page = open_tab(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    # The touch layout applies: Chromium emulates a touch screen; Firefox ignores
    # is_mobile and has_touch, but headless it has no pointer that hovers (measured).
    assert page.evaluate("matchMedia('(hover: none), (pointer: coarse)').matches")
    open_chat(page, live_server.url)
    send(page, "hello from a phone")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    expect(page.locator("#chat-title")).to_be_visible()
    expect(page.locator("#chat-title")).to_have_text("hello from a phone")
    action = stored_reply(page).locator(".action").first
    box = action.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box
    assert action.evaluate("(el) => getComputedStyle(el.parentElement).opacity") == "1"

    # The drawer keeps Tab inside; picking a model closes it.
    page.click("#sidebar-toggle")
    expect(page.locator("body")).to_have_class(re.compile("sidebar-open"))
    for _ in range(40):
        page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('sidebar')"
                         ".contains(document.activeElement)")

    # Downloads: errors by the Pull field in words, Ollama's text under Details.
    page.fill("#pull-name", "no good!")
    page.press("#pull-name", "Enter")
    error = page.locator("#pull-error")
    expect(error).to_contain_text("is not a valid model name")
    expect(error).not_to_contain_text("model:")
    expect(page.locator("#pull-name")).to_have_value("no good!")
    page.fill("#pull-name", "unreachable:1b")
    page.press("#pull-name", "Enter")
    expect(error).to_contain_text("cannot reach the model library")
    details = error.locator("details")
    expect(details.locator("pre")).to_be_hidden()
    details.locator("summary").click()
    expect(details.locator("pre")).to_contain_text("no such host")
    assert error.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
    expect(page.locator("#pull-name")).to_have_value("unreachable:1b")
    expect(page.locator(".note-error")).to_have_count(0)  # nothing in the chat

    page.locator("#installed-models .model-pick").last.click()
    expect(page.locator("body")).not_to_have_class(re.compile("sidebar-open"))

    # Parameters: every bad field marked, the message without its path; room to read.
    open_settings(page)
    page.click("#params-box summary")
    page.fill("#p-top_p", "5")
    type_into(page, "#p-temperature", "500")
    for name in ("temperature", "top_p"):
        expect(page.locator(f"#p-{name}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error[data-field='options.temperature']")).to_have_text(
        "Must be at most 100")
    assert page.locator("#messages").bounding_box()["height"] >= 150


def test_loading_silence_unloading_and_states_that_clear(page, make_server, fake_ollama):

    # No load on pick: the first message loads the model, as with --no-preload.
    server = make_server(SILENCE_NOTICE=0.4, NO_PRELOAD=True)
    open_chat(page, server.url)
    # Loading: said at once in the sidebar; Ollama quiet: said above the input.
    fake_ollama.script(tokens=[" slow"] * 3, load_delay=1.5, delay=0.01)
    send(page, "wake up")
    loading = page.locator("#loaded-models .loading-item[data-model='gemma3:270m']")
    expect(loading).to_contain_text("loading…")
    wait = page.locator(LIVE + " .reply-wait")
    expect(wait).to_have_text("loading gemma3:270m…")  # in the reply too
    status = page.locator("#reply-status")
    expect(status).to_contain_text("Ollama has not answered")
    expect(status).to_be_hidden(timeout=8000)  # bytes came: the notice goes
    expect(wait).to_have_count(0)
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    expect(loading).to_have_count(0)
    context_text = page.locator("#context-text")
    expect(context_text).to_contain_text("/ 4,096 tokens")

    # Unloading during a reply: said so, the button off; the meter's scale stays.
    fake_ollama.script(tokens=[" z"] * 150, delay=0.02)
    send(page, "keep going")
    expect(page.locator(".message.assistant[data-id='0']")).to_contain_text("z z")
    page.click("#loaded-models .unload-button")
    item = page.locator("#loaded-models li[data-model='gemma3:270m']")
    expect(item.locator(".model-expiry")).to_have_text("unloading after the current reply")
    expect(item.locator(".unload-button")).to_be_disabled()
    expect(stored_reply(page)).to_contain_text("z z", timeout=10000)
    expect(item).to_have_count(0, timeout=10000)
    expect(context_text).to_contain_text("/ 4,096 tokens")
    page.reload()  # remembered across a reload too
    expect(context_text).to_contain_text("/ 4,096 tokens")

    # A system prompt draft belongs to its conversation; an import error goes.
    open_settings(page)
    page.click("#system-box summary")
    page.fill("#system-prompt", "Draft, not saved")
    expect(page.locator("#system-status")).to_have_text("Not saved")
    page.set_input_files("#import-file", files=[
        {"name": "bad.json", "mimeType": "application/json", "buffer": b"{nope"}])
    expect(page.locator("#conversation-error")).to_contain_text("Could not import")
    first = page.locator("#conversation-list li", has_text="wake up")
    page.click("#new-chat")
    expect(page.locator("#conversation-error")).to_be_hidden()
    expect(page.locator("#system-prompt")).to_have_value("")
    expect(page.locator("#system-status")).to_have_text("")
    first.locator(".conversation-open").click()
    expect(page.locator("#system-prompt")).to_have_value("Draft, not saved")
    expect(page.locator("#system-status")).to_contain_text("Not saved")


def rows(live_server) -> tuple[int, int]:
    """Browsers and conversations stored, as the SQLite file has them."""
    db = live_server.services.sessions.db
    return (db.query("SELECT count(*) FROM sessions")[0][0],
            db.query("SELECT count(*) FROM conversations")[0][0])


def test_a_fresh_page_stores_nothing_until_the_first_save(page, live_server, fake_ollama):
    """Issue 8: opening the page and picking a model write no row. Issue 19 (item 9): a
    system prompt saved before the first message is kept by the page, not stored, and
    goes with the first message, which makes the conversation (no empty row before)."""
    open_chat(page, live_server.url)  # picks the model too
    expect(page.locator("#conversation-list")).to_contain_text("No conversations yet")
    expect(page.locator("#export-menu")).to_be_hidden()
    assert rows(live_server) == (0, 0)

    open_settings(page)
    page.click("#system-box summary")
    page.fill("#system-prompt", "Answer like a pirate.")
    page.click("#system-save")
    expect(page.locator("#system-status")).to_contain_text("Kept")
    expect(page.locator("#conversation-list")).to_contain_text("No conversations yet")
    assert rows(live_server) == (0, 0)

    fake_ollama.script(tokens=["Arr", ",", " matey"], delay=0.05)
    send(page, "hello there")
    expect(stored_reply(page).locator(".message-content")).to_have_text("Arr, matey")
    expect(page.locator("#conversation-list li")).to_have_count(1)
    expect(page.locator("#conversation-list")).to_contain_text("hello there")
    assert rows(live_server) == (1, 1)
    sent = fake_ollama.last_payload("/api/chat")["messages"]
    assert sent[0] == {"role": "system", "content": "Answer like a pirate."}
    conversation = history_of(page)
    assert conversation["system"] == "Answer like a pirate."
    assert settings_of(page, conversation["conversation"])["model"] == "gemma3:270m"
    expect(page.locator("#export-menu")).to_be_visible()

    # Deleting the only one leaves an empty chat again, not a new stored conversation.
    page.locator("#conversation-list li").first.locator(".conversation-delete").click()
    expect(page.locator("#conversation-list")).to_contain_text("No conversations yet")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator("#export-menu")).to_be_hidden()
    assert rows(live_server) == (1, 1)
    page.click("#toast-action")  # Undo
    expect(stored_reply(page).locator(".message-content")).to_have_text("Arr, matey")


def test_the_first_message_makes_the_conversation_and_the_page_adopts_it(
        page, live_server, fake_ollama):
    open_chat(page, live_server.url)
    fake_ollama.script(tokens=["Hi", " you"], delay=0.05)
    send(page, "first words")
    expect(stored_reply(page).locator(".message-content")).to_have_text("Hi you")
    expect(page.locator("#conversation-list li")).to_have_count(1)
    expect(page.locator("#chat-title")).to_have_text("first words")
    assert rows(live_server) == (1, 1)
    cid = history_of(page)["conversation"]
    assert page.evaluate("() => localStorage.getItem('webchat.conversation')") == str(cid)
    page.wait_for_function(f"""() => fetch('api/conversations/{cid}').then(r => r.json())
        .then(c => c.settings && c.settings.model === 'gemma3:270m')""")
