"""The page in a real browser (Debian's chromium through Playwright) against the live app."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from ..support.fake_ollama import FakeOllama
from ..support.live import ROOT, wait_until
from ..support.page import (
    MODEL,
    expect,
    export_json_then_import,
    history_of,
    import_chat,
    last_reply,
    open_chat,
    open_settings,
    send,
    stored_reply,
    type_into,
)

SCREENSHOT = ROOT / "docs" / "screenshot.png"
REFRESH_WAIT_MS = 8000  # the page refreshes the loaded list every 5 s
DRAW_MS = 60_000  # a 400-message history drawn in slices: over 20 s in Firefox at load 24

# The `engine` and `page` fixtures are in conftest.py: every test that takes one runs in
# each engine (Chromium, Firefox) and is marked `browser`.


def test_streamed_reply_stats_loaded_list_and_unload(page, live_server, fake_ollama):
    tokens = ["Sure", ",", " here", " is", " a", " list", ":\n", "- one", "\n", "- two",
              "\n", "- three", "\n", "That", " is", " all", "."]
    fake_ollama.script(tokens=tokens, delay=0.06)
    fake_ollama.unload_lag = 0.8  # long enough to see the button disabled while in flight
    open_chat(page, live_server.url)
    # Picking the model loaded it at once (POST /api/load), before any message.
    expect(page.locator(f"#loaded-models li[data-model='{MODEL}']")).to_contain_text("expires")

    send(page, "Give me a list")
    expect(page.locator("#prompt")).to_have_value("")
    expect(page.locator(".message.user").last).to_contain_text("Give me a list")
    content = last_reply(page).locator(".message-content")
    # Seen part-way: some text, not all of it (the reply really streams in), already
    # drawn as markdown.
    page.wait_for_function(
        """() => {
            const el = [...document.querySelectorAll('.message.assistant .message-content')].pop();
            const text = el ? el.textContent : '';
            return text.startsWith('Sure') && !text.includes('all.');
        }""")
    expect(page.locator("#stop")).to_be_visible()
    expect(content.locator("li")).to_have_count(3)
    expect(content).to_contain_text("That is all.")
    stats = stored_reply(page).locator(".stats")
    expect(stats).to_contain_text(f"{len(tokens)} tokens")
    expect(stats).to_contain_text("tokens/s")
    expect(stats).to_contain_text("first token")
    expect(stored_reply(page).locator(".message-content li")).to_have_text(
        ["one", "two", "threeThat is all."])  # the line break is a <br>
    expect(page.locator("#send")).to_be_visible()

    ps = requests.get(f"{fake_ollama.url}/api/ps", timeout=5).json()["models"]
    size_mb = f"{ps[0]['size'] / 1024 / 1024:.1f} MB"
    item = page.locator(f"#loaded-models li[data-model='{MODEL}']")
    expect(item).to_contain_text(size_mb)
    expect(item).to_contain_text("100% CPU")
    # Pushed over the socket when the reply ended, with a countdown that runs by itself.
    expiry = item.locator(".model-expiry")
    expect(expiry).to_have_text(re.compile(r"expires in 4:5\d"))
    expect(expiry).not_to_have_text(expiry.text_content() or "")

    button = page.locator(f".unload-button[data-model='{MODEL}']")
    button.click()
    expect(button).to_be_disabled()
    expect(page.locator("#loaded-models li[data-model]")).to_have_count(0)
    expect(page.locator("#loaded-models")).to_contain_text("No models loaded")
    assert MODEL in fake_ollama.unloads
    assert fake_ollama.loaded_names() == []


def test_stop_keeps_the_partial_reply(page, live_server, fake_ollama):
    fake_ollama.script(tokens=[f" w{i}" for i in range(400)], delay=0.02)
    open_chat(page, live_server.url)
    send(page, "Count slowly")
    content = last_reply(page).locator(".message-content")
    expect(content).to_contain_text("w5")
    expect(page.locator("#send")).to_be_hidden()
    page.fill("#prompt", "typed while streaming")  # the input stays usable

    page.click("#stop")
    reply = stored_reply(page)
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator(".cut-short")).to_contain_text("Cut short: stopped")
    expect(reply.locator(".message-content")).to_contain_text(" w0 w1 w2 w3 w4 w5")
    assert "w399" not in (reply.locator(".message-content").text_content() or "")
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#prompt")).to_have_value("typed while streaming")
    assert fake_ollama.wait_for_disconnect(2)


def test_unreachable_banner_comes_and_goes_without_reload(page, live_server, fake_ollama):
    port = fake_ollama.port
    fake_ollama.stop()
    page.goto(live_server.url)
    banner = page.locator("#ollama-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Ollama is unreachable: Cannot reach Ollama")
    expect(page.locator("#installed-models")).to_contain_text("Model list unavailable")

    with FakeOllama(port=port):
        expect(banner).to_be_hidden(timeout=REFRESH_WAIT_MS)
        # The installed list, empty while Ollama was down, is loaded again by itself.
        expect(page.locator(f"#installed-models li[data-model='{MODEL}']")).to_have_count(1)
        expect(page.locator(f"#model-select option[value='{MODEL}']")).to_have_count(1)
    expect(banner).to_be_visible(timeout=REFRESH_WAIT_MS)
    expect(banner).to_contain_text("Ollama is unreachable")


def test_seed_commands_models_and_clear(page, live_server, fake_ollama):
    fake_ollama.script(tokens=["The", " sky", " looks", " blue", " because", " air",
                               " scatters", " short", " (blue)", " wavelengths", " of",
                               " sunlight", " more", " than", " long", " (red)", " ones", "."])
    open_chat(page, live_server.url)
    send(page, "Why is the sky blue?")
    expect(stored_reply(page).locator(".stats")).to_be_visible()
    expect(page.locator(f"#loaded-models li[data-model='{MODEL}']")).to_have_count(1)

    send(page, "/models")
    note = page.locator(".note-info").last
    expect(note).to_contain_text("Models currently loaded in memory")
    expect(note).to_contain_text(MODEL)
    expect(page.locator(".message.user")).to_have_count(1)  # a command is not a message
    if os.environ.get("WEBCHAT_SCREENSHOT"):  # refresh the README's picture on request
        page.screenshot(path=str(SCREENSHOT))

    send(page, "/clear")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator(".note")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    history = page.evaluate("fetch('api/history').then(r => r.json())")
    assert history["messages"] == []


def test_model_and_user_text_is_shown_as_text(page, live_server, fake_ollama):
    payload = '<img src=x onerror="window.__pwned=1">'
    fake_ollama.script(tokens=[payload[:9], payload[9:]])
    open_chat(page, live_server.url)
    send(page, "<b>not bold</b>")
    reply = stored_reply(page)
    expect(reply.locator(".message-content")).to_have_text(payload)
    expect(page.locator(".message.user .message-content")).to_have_text("<b>not bold</b>")
    expect(page.locator("#messages img")).to_have_count(0)
    expect(page.locator("#messages b")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None


class Beacon:
    """A plain HTTP server on another loopback port that counts every request it gets."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_hostile_model_output_runs_nothing_and_fetches_nothing(page, live_server, fake_ollama):
    beacon = Beacon()
    stand_in = fake_ollama.url
    hostile = "\n\n".join([
        "<script>window.__pwned = 1</script>",
        "[click me](javascript:window.__pwned=2) and [data](data:text/html,hi)",
        '<a href="javascript:window.__pwned=3">raw link</a>',
        '<img src="x" onerror="window.__pwned=4">',
        f"![md beacon]({beacon.url}/md.png) ![stand-in beacon]({stand_in}/beacon.png)",
        f"![ref beacon][b]\n\n[b]: {beacon.url}/ref.png",
        '<svg onload="window.__pwned=5"><circle r="4"/></svg>',
        f'<iframe src="{beacon.url}/frame"></iframe>',
        f'<div style="background:url({beacon.url}/css.png)">styled</div>',
        "<style>body { display: none }</style>",
        "<javascript:window.__pwned=6>",
        f"```html\n<img src={beacon.url}/code.png onerror=alert(1)>\n```",
        "**bold**, [safe](https://example.com/page), <https://example.org/auto>, "
        "[mail](mailto:someone@example.com)",
    ])
    fake_ollama.script(tokens=[hostile[i:i + 7] for i in range(0, len(hostile), 7)])
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        open_chat(page, live_server.url)
        send(page, "be evil")
        content = stored_reply(page).locator(".message-content")
        expect(content.locator("strong")).to_have_text("bold")
        expect(content.locator(".code-block")).to_have_count(1)
        # Raw HTML is shown as the text it is; images are their alt text.
        expect(content).to_contain_text("<script>window.__pwned = 1</script>")
        expect(content).to_contain_text('<img src="x" onerror="window.__pwned=4">')
        expect(content).to_contain_text("md beacon stand-in beacon")
        expect(content).to_contain_text("ref beacon")
        for tag in ("script", "img", "svg", "iframe", "style", "object", "embed"):
            expect(page.locator(f"#messages {tag}")).to_have_count(0)
        expect(page.locator("#messages [style], #messages [onerror], #messages [onload]")) \
            .to_have_count(0)
        links = content.locator("a")
        expect(links).to_have_count(3)
        for i in range(3):
            expect(links.nth(i)).to_have_attribute("target", "_blank")
            expect(links.nth(i)).to_have_attribute("rel", "noopener noreferrer")
        assert [links.nth(i).get_attribute("href") for i in range(3)] == [
            "https://example.com/page", "https://example.org/auto",
            "mailto:someone@example.com"]
        expect(content.get_by_text("click me")).to_have_count(1)  # text, not a link
        assert page.evaluate("window.__pwned") is None
        assert [url for url in requested if "beacon" in url or beacon.url in url] == []
        assert beacon.hits == []
        assert not any(path.startswith("/beacon") for _, path, _ in fake_ollama.requests)
        # The watches work: a request the page does make is seen, and so is one the
        # beacon gets (the CSP would block the page from reaching it at all).
        page.evaluate("fetch('static/css/style.css?control=1')")
        assert any(url.endswith("style.css?control=1") for url in requested)
        requests.get(f"{beacon.url}/control", timeout=5)
        assert beacon.hits == ["/control"]
    finally:
        beacon.close()


def test_markdown_tables_and_highlighted_code_with_copy(page, live_server, fake_ollama):
    reply = ("## Result\n\n| name | size |\n| --- | ---: |\n| a | 1 |\n| b | 2 |\n\n"
             "```python\ndef add(a, b):\n    return a + b  # sum\n```\n\nUse `add` *gladly*.")
    fake_ollama.script(tokens=[reply[i:i + 5] for i in range(0, len(reply), 5)], delay=0.005)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_chat(page, live_server.url)
    send(page, "show me")
    content = stored_reply(page).locator(".message-content")
    expect(content.locator("h2")).to_have_text("Result")
    expect(content.locator("table tbody tr")).to_have_count(2)
    expect(content.locator("td").last).to_have_text("2")
    expect(content.locator("code").first).to_be_visible()
    block = content.locator(".code-block")
    expect(block.locator(".code-lang")).to_have_text("python")
    expect(block.locator("code .hljs-keyword").first).to_have_text("def")
    expect(block.locator("code .hljs-comment")).to_have_text("# sum")
    expect(content.locator("p code")).to_have_text("add")
    expect(content.locator("em")).to_have_text("gladly")
    block.get_by_role("button", name="Copy this code").click()
    expect(block.locator(".code-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == (
        "def add(a, b):\n    return a + b  # sum\n")


def test_failed_message_retry_and_context_marks(page, make_server, fake_ollama):
    server = make_server(MAX_HISTORY=2, WINDOW_STEP=0)
    open_chat(page, server.url)
    send(page, "first question")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")

    fake_ollama.script(error_after=0, error_message="model runner crashed")
    send(page, "second question")
    failed = page.locator(".message.user[data-status='failed']")
    expect(failed).to_contain_text("model runner crashed")
    expect(page.locator(".note-error")).to_contain_text("model runner crashed")
    expect(page.locator(".out-of-context")).to_have_count(0)

    failed.locator(".retry-button").click()
    expect(page.locator(".message.user[data-status='failed']")).to_have_count(0)
    expect(page.locator(".message.assistant:not([data-id='0'])")).to_have_count(2)
    expect(stored_reply(page).locator(".message-content")).to_have_text(
        "You said: second question")
    # Only the last exchange fits in a window of 2: the first is marked outside it.
    outside = page.locator(".message.out-of-context")
    expect(outside).to_have_count(2)
    expect(outside.first).to_contain_text("first question")
    expect(outside.first.locator(".context-label")).to_have_text("outside context window")


def test_thinking_toggle_and_collapsible_thinking(page, live_server, fake_ollama):
    fake_ollama.script(tokens=[" The", " answer", " is", " 42."],
                       thinking=[f" step{i}" for i in range(12)], delay=0.04)
    open_chat(page, live_server.url)
    open_settings(page)  # the think toggle is there
    toggle = page.locator("#think-toggle")
    expect(toggle).to_be_disabled()  # gemma3 has no `thinking` capability
    page.select_option("#model-select", "thinker:latest")
    expect(toggle).to_be_enabled()
    toggle.focus()
    page.keyboard.press("Space")  # reachable from the keyboard
    expect(toggle).to_be_checked()
    send(page, "What is the answer?")
    box = last_reply(page).locator("details.thinking")
    expect(box).to_contain_text("step3")
    expect(box).to_have_attribute("open", "")  # open while the model thinks
    expect(last_reply(page).locator(".message-content")).to_contain_text("The answer")
    expect(box).not_to_have_attribute("open", "")  # folded once the answer starts
    expect(stored_reply(page).locator(".message-content")).to_have_text("The answer is 42.")
    assert fake_ollama.last_payload("/api/chat")["think"] is True
    stored = stored_reply(page).locator("details.thinking")
    expect(stored).not_to_have_attribute("open", "")
    stored.locator("summary").click()
    expect(stored.locator(".thinking-text")).to_have_text(
        "".join(f" step{i}" for i in range(12)))

    toggle.uncheck()  # off is said: a thinking model thinks when `think` is left out
    send(page, "Again, quickly")
    expect(stored_reply(page).locator(".message-content")).to_have_text(
        "You said: Again, quickly")
    assert fake_ollama.last_payload("/api/chat")["think"] is False
    expect(stored_reply(page).locator("details.thinking")).to_have_count(0)
    page.select_option("#model-select", MODEL)
    expect(toggle).to_be_disabled()
    expect(toggle).not_to_be_checked()
    send(page, "And now?")
    expect(stored_reply(page).locator(".message-content")).to_have_text("You said: And now?")
    assert "think" not in fake_ollama.last_payload("/api/chat")  # true would be a 400


def test_a_model_that_thinks_in_levels_offers_the_levels(page, live_server, fake_ollama):
    fake_ollama.add_model("gpt-oss:20b", family="gptoss", capabilities=(
        "completion", "thinking"), template="<|start|>{{ .ThinkLevel }}<|end|>")
    open_chat(page, live_server.url)
    open_settings(page)
    level = page.locator("#think-level")
    expect(level).to_be_hidden()
    page.select_option("#model-select", "gpt-oss:20b")
    expect(level).to_be_visible()
    expect(page.locator("#think-toggle")).to_be_hidden()  # it cannot be turned off
    expect(level).to_have_value("low")  # off reads as the least it does
    level.select_option("high")
    send(page, "Think hard")
    expect(stored_reply(page).locator(".message-content")).to_have_text("You said: Think hard")
    assert fake_ollama.last_payload("/api/chat")["think"] == "high"
    page.reload()  # saved with the conversation
    expect(level).to_have_value("high")
    page.select_option("#model-select", "thinker:latest")
    expect(level).to_be_hidden()
    expect(page.locator("#think-toggle")).to_be_checked()  # a level reads as on


def test_a_close_reason_from_the_server_stays_on_the_page(page, live_server):
    """A tab the server drops (it fell too far behind its frames: webchat/relay/outbox.py) is
    closed with a reason; the page shows it, and keeps it after reconnecting."""
    sockets = []

    def route(ws):
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws", route)
    open_chat(page, live_server.url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    reason = "Too far behind: over 256 KB unread. Reconnecting reloads the chat."
    sockets[-1].close(code=1008, reason=reason)
    note = page.locator(".note-error", has_text=f"The server closed the connection: {reason}")
    expect(note).to_have_count(1)
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=10000)
    expect(note).to_have_count(1)


def test_lost_socket_shows_reconnecting_then_comes_back(page, live_server, fake_ollama):
    sockets, refuse = [], []

    def route(ws):
        if refuse:
            ws.close()
        else:
            ws.connect_to_server()
            sockets.append(ws)

    page.route_web_socket("**/ws", route)
    fake_ollama.script(tokens=[" x"] * 300, delay=0.02)
    open_chat(page, live_server.url)
    send(page, "keep going")
    expect(last_reply(page).locator(".message-content")).to_contain_text("x x x")

    refuse.append(True)
    sockets[-1].close()  # the connection drops mid-reply
    expect(page.locator("#connection-status")).to_have_text("Reconnecting…")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#stop")).to_be_hidden()

    refuse.clear()
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=10000)
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator(".note-error", has_text="Lost the connection")).to_have_count(0)
    # The reply went on while the page was away (--reply-grace) and ends as usual.
    expect(stored_reply(page)).to_have_attribute("data-status", "ok", timeout=15000)
    assert len(sockets) == 2


def test_system_prompt_parameters_and_endpoint_per_conversation(page, live_server, fake_ollama):
    open_chat(page, live_server.url)
    open_settings(page)
    page.click("#params-box summary")
    type_into(page, "#p-temperature", "500")  # change event: saved on the server, which says no
    error = page.locator(".field-error[data-field='options.temperature']")
    expect(error).to_have_text("Must be at most 100")
    expect(page.locator("#p-temperature")).to_have_attribute("aria-invalid", "true")
    type_into(page, "#p-temperature", "0.3")
    expect(error).to_have_text("")
    page.fill("#p-num_ctx", "2048")
    page.fill("#p-stop", "END\nSTOP")
    page.select_option("#p-keep_alive", "0")  # unload right after the reply
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    open_settings(page)
    page.click("#system-box summary")
    page.fill("#system-prompt", "Be terse.")
    page.click("#system-save")  # a new chat: kept until its first message stores it
    expect(page.locator("#system-status")).to_have_text("Kept: saved with the first message")

    send(page, "hello there")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    payload = fake_ollama.last_payload("/api/chat")
    assert payload["options"] == {"temperature": 0.3, "num_ctx": 2048, "stop": ["END", "STOP"]}
    assert payload["keep_alive"] == 0
    assert payload["messages"][0] == {"role": "system", "content": "Be terse."}
    # The context meter: prompt_eval_count of the last reply against num_ctx.
    expect(page.locator("#context-text")).to_have_text(re.compile(r"^\d+ / 2,048 tokens"))

    page.select_option("#endpoint-select", "generate")
    send(page, "now flattened")
    expect(stored_reply(page).locator(".tag")).to_have_text("/api/generate")
    assert fake_ollama.last_payload("/api/generate")["prompt"].startswith("System: Be terse.")

    page.reload()  # all of it is kept by the server, per conversation
    expect(page.locator("#p-temperature")).to_have_value("0.3")
    expect(page.locator("#p-num_ctx")).to_have_value("2048")
    expect(page.locator("#p-stop")).to_have_value("END\nSTOP")
    expect(page.locator("#p-keep_alive")).to_have_value("0")
    expect(page.locator("#endpoint-select")).to_have_value("generate")
    expect(page.locator("#system-prompt")).to_have_value("Be terse.")

    page.click("#new-chat")  # a new conversation starts with defaults of its own
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    expect(page.locator("#conversation-list li")).to_have_count(1)  # none until used
    expect(page.locator("#system-prompt")).to_have_value("")
    expect(page.locator("#p-temperature")).to_have_value("")


def test_inspector_copy_regenerate_edit_and_delete(page, live_server, fake_ollama):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_chat(page, live_server.url)
    send(page, "first question")
    reply = stored_reply(page)
    expect(reply.locator(".stats")).to_contain_text("tokens")

    reply.locator(".inspect-button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#inspector")
    expect(dialog).to_be_visible()
    request = json.loads(page.locator("#inspector-request").text_content())
    assert request == fake_ollama.last_payload("/api/chat")
    stats = json.loads(page.locator("#inspector-stats").text_content())
    assert stats["eval_count"] == 5 and stats["model"] == MODEL
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    reply.locator(".copy-button").click()
    expect(reply.locator(".copy-button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "You said: first question"

    fake_ollama.script(tokens=["A", " fresh", " answer"])
    reply.locator(".regenerate-button").click()
    expect(stored_reply(page).locator(".message-content")).to_have_text("A fresh answer")
    expect(page.locator(".message")).to_have_count(2)

    page.locator(".message.user .edit-button").click()
    editor = page.locator(".edit-input")
    expect(editor).to_be_focused()
    editor.fill("second thoughts")
    editor.press("Enter")
    expect(stored_reply(page).locator(".message-content")).to_have_text(
        "You said: second thoughts")
    expect(page.locator(".message.user .message-content")).to_have_text("second thoughts")
    expect(page.locator(".message")).to_have_count(2)

    stored_reply(page).locator(".delete-last-button").click()
    # The first version of the question comes back into view (tests/test_branches.py).
    expect(page.locator(".message.user .message-content")).to_have_text("first question")
    stored_reply(page).locator(".delete-last-button").click()
    expect(page.locator(".message")).to_have_count(0)
    assert history_of(page)["messages"] == []


def test_conversations_switch_without_interrupting_rename_delete_undo(
        page, live_server, fake_ollama, tmp_path):
    open_chat(page, live_server.url)
    tokens = [f" w{i}" for i in range(60)]
    fake_ollama.script(tokens=tokens, delay=0.04)
    send(page, "long story")
    expect(last_reply(page).locator(".message-content")).to_contain_text("w2")
    page.keyboard.press("Control+Shift+O")  # a new chat while the reply streams
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    expect(page.locator("#conversation-list li")).to_have_count(1)  # stored once used
    busy = page.locator("#conversation-list li.generating")
    expect(busy).to_have_count(1)
    expect(busy).to_contain_text("long story")
    busy.locator(".conversation-open").click()  # back: the reply shows live again
    expect(last_reply(page).locator(".message-content")).to_contain_text("w5")
    expect(stored_reply(page).locator(".message-content")).to_have_text("".join(tokens).strip())
    assert fake_ollama.disconnects == 0
    expect(page.locator("#conversation-list li.generating")).to_have_count(0)

    first = page.locator("#conversation-list li").first
    expect(first).to_contain_text("long story")  # newest activity first
    first.locator(".conversation-rename").click()
    page.keyboard.type("Renamed story")
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-list li").first).to_contain_text("Renamed story")
    expect(page.locator("#chat-title")).to_have_text("Renamed story")

    page.locator("#conversation-list li").first.locator(".conversation-delete").click()
    expect(page.locator("#conversation-list li.empty-state")).to_have_count(1)
    expect(page.locator("#toast")).to_contain_text("Deleted “Renamed story”")
    page.click("#toast-action")  # Undo
    expect(page.locator("#conversation-list li.conversation-item")).to_have_count(1)
    expect(stored_reply(page).locator(".message-content")).to_contain_text("w59")

    page.click("#export-menu summary")
    with page.expect_download() as md:
        page.click("#export-md")
    assert "### You\n\n```markdown\nlong story" in Path(md.value.path()).read_text()
    export_json_then_import(page, tmp_path / "story.json")
    expect(page.locator("#conversation-list li")).to_have_count(2)
    expect(page.locator("#chat-title")).to_have_text("Renamed story")
    expect(stored_reply(page).locator(".message-content")).to_contain_text("w59")


def test_long_conversation_newest_first_then_in_order_and_jump_to_latest(
        page, live_server, fake_ollama, tmp_path):
    open_chat(page, live_server.url)
    send(page, "short chat")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    exchanges = 200
    messages = []
    for i in range(exchanges):
        messages += [{"role": "user", "content": f"question {i}", "created_at": 1.7e9 + i},
                     {"role": "assistant", "content": f"**answer {i}**", "model": MODEL}]
    import_chat(page, tmp_path / "long.json", "Long one", messages)
    pane = page.locator("#messages")
    expect(pane).to_have_attribute("aria-busy", "false", timeout=DRAW_MS)  # drawn and placed
    texts = page.locator(".message .message-content").all_text_contents()
    # (replies far above the view stay plain text until scrolled near)
    assert [text.strip().strip("*") for text in texts] == [
        m["content"].strip("*") for m in messages]
    assert pane.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight") < 5
    expect(page.locator(".message.assistant").last.locator("strong")).to_have_text(
        f"answer {exchanges - 1}")
    # Scrolled to the top as a person does, with the wheel (the oldest replies become
    # markdown near): after one jump of scrollTop, Firefox on 2 busy cores sometimes drew
    # no frame that told the page they were in view.
    pane.hover()
    for _ in range(50):
        page.mouse.wheel(0, -20_000)
        if pane.evaluate("p => p.scrollTop") == 0:
            break
    assert pane.evaluate("p => p.scrollTop") == 0
    expect(page.locator(".message.assistant").first.locator("strong")).to_have_text("answer 0")
    jump = page.locator("#jump-latest")
    expect(jump).to_have_text("↓ Latest")

    # A redraw while reading far up (here: the socket drops and comes back, and the page
    # reloads the history) keeps the message being read in view.
    page.locator(".message").first.evaluate("m => { m.dataset.before = 'yes'; }")
    live_server.services.close_sockets()
    expect(page.locator(".message[data-before]")).to_have_count(0)  # drawn anew
    expect(pane).to_have_attribute("aria-busy", "false", timeout=DRAW_MS)  # the slices are in
    expect(page.locator(".message")).to_have_count(2 * exchanges)
    first_top = page.locator(".message.user").first.evaluate(
        "m => m.getBoundingClientRect().top - m.parentElement.getBoundingClientRect().top")
    assert 0 <= first_top < 100, first_top
    expect(page.locator(".message.assistant").first.locator("strong")).to_have_text("answer 0")
    # each message says when it was written (2023-11-14 22:13:20 UTC for the first)
    first_time = page.locator(".message.user").first.locator("time.message-time")
    expect(first_time).to_have_attribute("datetime", "2023-11-14T22:13:20.000Z")
    expect(first_time).to_contain_text("2023")

    # Sending shows the end; reading further up while a reply streams in says so.
    tokens = [f" t{i}" for i in range(80)]
    fake_ollama.script(tokens=tokens, delay=0.05)
    send(page, "one more")
    expect(jump).to_be_hidden()
    expect(last_reply(page).locator(".message-content")).to_contain_text("t2")
    expect(pane).to_have_attribute("aria-busy", "false", timeout=DRAW_MS)
    pane.evaluate("p => { p.scrollTop = 0; }")
    expect(jump).to_have_text("↓ New messages")
    expect(jump).to_have_class(re.compile(r"\bunseen\b"))
    jump.click()
    expect(jump).to_be_hidden()
    expect(pane).to_have_attribute("aria-busy", "false", timeout=DRAW_MS)
    assert pane.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight") < 5
    last_text = "".join(tokens).strip()
    expect(stored_reply(page).locator(".message-content")).to_have_text(last_text)

    # With the page's timers held, a reload shows only the newest slice; switching to the
    # other conversation then must not let the long one's pending slices in.
    page.clock.install(time=datetime.datetime(2026, 1, 1))
    page.clock.pause_at(datetime.datetime(2026, 1, 2))
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("Long one")
    shown = page.locator(".message .message-content")
    expect(shown.last).to_have_text(last_text)
    first_slice = shown.count()
    assert 0 < first_slice < 2 * exchanges
    page.locator("#conversation-list li", has_text="short chat").locator(
        ".conversation-open").click()
    expect(page.locator("#chat-title")).to_have_text("short chat")
    page.clock.resume()
    page.wait_for_timeout(500)
    expect(page.locator(".message")).to_have_count(2)
    expect(page.locator(".message.user .message-content")).to_have_text("short chat")


def test_pull_with_progress_cancel_details_delete_and_unload_all(page, live_server, fake_ollama):
    fake_ollama.pull_delay = 0.15
    open_chat(page, live_server.url)
    page.fill("#pull-name", "newmodel:1b")
    page.press("#pull-name", "Enter")
    item = page.locator("#pulls li[data-model='newmodel:1b']")
    bar = item.locator("progress")
    page.wait_for_function(
        "() => { const b = document.querySelector('#pulls progress');"
        " return b && b.value > 0 && b.value < b.max; }")
    expect(item).to_contain_text("of")
    expect(item).to_have_count(0, timeout=10000)
    expect(bar).to_have_count(0)
    expect(page.locator("#installed-models li[data-model='newmodel:1b']")).to_have_count(1)
    expect(page.locator(".note-info").last).to_contain_text("Downloaded newmodel:1b")

    fake_ollama.pull_delay = 1.0
    page.fill("#pull-name", "slow:7b")
    page.click("#pull-button")
    slow = page.locator("#pulls li[data-model='slow:7b']")
    slow.get_by_role("button", name="Cancel downloading slow:7b").click()
    expect(slow).to_have_count(0)
    assert fake_ollama.wait_for_disconnect(3)
    expect(page.locator("#installed-models li[data-model='slow:7b']")).to_have_count(0)

    page.locator("#installed-models li[data-model='newmodel:1b'] .model-details-button").click()
    facts = page.locator("#model-facts")
    expect(facts).to_contain_text("llama")
    expect(facts).to_contain_text("32,768")
    expect(facts).to_contain_text("completion")
    page.click("#model-delete")
    expect(page.locator("#confirm-text")).to_contain_text("Delete newmodel:1b")
    page.click("#confirm-ok")
    expect(page.locator("#installed-models li[data-model='newmodel:1b']")).to_have_count(0)
    assert fake_ollama._find("newmodel:1b") is None

    send(page, "load gemma")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    page.select_option("#model-select", "tiny-assistant:latest")
    send(page, "load tiny")
    # both replies over: an unload during a reply is deferred until it ends (Ollama's rule)
    expect(page.locator(".message.assistant[data-status='ok']:not([data-id='0'])")
           ).to_have_count(2)
    expect(page.locator("#loaded-models li[data-model]")).to_have_count(2)
    page.click("#unload-all")
    expect(page.locator("#loaded-models li[data-model]")).to_have_count(
        0, timeout=REFRESH_WAIT_MS)
    assert fake_ollama.loaded_names() == []


def test_images_for_vision_models(make_server, page, tmp_path, fake_ollama):
    from ..support.data import tiny_png
    fake_ollama.add_model("eyes:latest", capabilities=("completion", "vision"))
    server = make_server(MAX_IMAGE_BYTES=4096)
    open_chat(page, server.url)
    attach = page.locator("#attach")
    expect(attach).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#attach-reason")).to_have_text(
        "gemma3:270m cannot see images: attach works with vision models.")
    expect(page.locator("#attach-reason")).to_be_hidden()  # said when asked
    attach.focus()  # reachable from the keyboard, and pressing it says why
    page.keyboard.press("Enter")
    expect(page.locator("#attach-error")).to_have_text(
        "gemma3:270m cannot see images: attach works with vision models.")
    page.select_option("#model-select", "eyes:latest")
    expect(attach).to_have_attribute("aria-disabled", "false")
    expect(page.locator("#attach-reason")).to_be_hidden()
    expect(page.locator("#attach-error")).to_be_hidden()

    png = tiny_png()
    page.set_input_files("#attach-file", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.locator("#attach-error")).to_have_text(
        "notes.txt is not a PNG, JPEG, WebP or GIF image.")
    page.set_input_files("#attach-file", files=[
        {"name": "huge.png", "mimeType": "image/png", "buffer": png + b"\0" * 5000}])
    expect(page.locator("#attach-error")).to_contain_text("huge.png is 0.0 MB; the limit")
    page.set_input_files("#attach-file", files=[
        {"name": "red.png", "mimeType": "image/png", "buffer": png}])
    expect(page.locator("#attachments li:not(.uploading)")).to_have_count(1)
    expect(page.locator("#attach-error")).to_be_hidden()
    send(page, "what colour is it?")
    expect(page.locator("#attachments")).to_be_hidden()
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    sent = fake_ollama.last_payload("/api/chat")["messages"][-1]
    assert sent["images"] == [base64.b64encode(png).decode()]

    page.reload()  # kept with the history
    thumb = page.locator(".message.user .thumbnails img")
    expect(thumb).to_have_count(1)
    loaded = "() => document.querySelector('.message.user .thumbnails img')?.naturalWidth === 1"
    page.wait_for_function(loaded)

    export_json_then_import(page, tmp_path / "with-image.json")  # the picture comes back
    expect(page.locator("#conversation-list li")).to_have_count(2)
    expect(page.locator(".message.user .thumbnails img")).to_have_count(1)
    page.wait_for_function(loaded)


def test_theme_shortcuts_help_and_phone(open_tab, live_server, fake_ollama):
    page = open_tab("dark")
    open_chat(page, live_server.url)
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    dark = page.evaluate(background)
    assert dark == "rgb(20, 23, 28)"  # the system's dark scheme
    page.click("#theme-toggle")  # system -> light
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(background) == "rgb(245, 246, 248)"
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")

    page.keyboard.press("Control+/")
    help_box = page.locator("#help-dialog")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("New chat")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    page.locator("#messages").focus()
    page.keyboard.press("Shift+Escape")
    expect(page.locator("#prompt")).to_be_focused()
    page.keyboard.press("Control+Shift+S")
    expect(page.locator("#sidebar")).to_be_hidden()
    page.keyboard.press("Control+Shift+S")
    expect(page.locator("#sidebar")).to_be_visible()

    fake_ollama.script(tokens=[" t"] * 300, delay=0.02)
    send(page, "keep talking")
    expect(last_reply(page).locator(".message-content")).to_contain_text("t t t")
    page.keyboard.press("Escape")  # stop
    expect(stored_reply(page)).to_have_attribute("data-status", "stopped")

    page.set_viewport_size({"width": 390, "height": 800})
    sidebar = page.locator("#sidebar")
    expect(page.locator("#new-chat")).not_to_be_in_viewport()
    page.click("#sidebar-toggle")
    expect(page.locator("#new-chat")).to_be_in_viewport()
    page.click("#new-chat")  # picking something closes the drawer
    expect(page.locator("#new-chat")).not_to_be_in_viewport()
    expect(sidebar).to_be_attached()
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    expect(page.locator("#conversation-list li")).to_have_count(1)  # stored once used


def test_page_weight_offline(engine, live_server, fake_ollama):
    """Everything comes from the app itself; the total is what the README records."""
    context = engine.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    fetched: list[tuple[str, int]] = []
    page.on("requestfinished", lambda r: fetched.append(
        (r.url, r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"])))
    try:
        open_chat(page, live_server.url)
        page.wait_for_load_state("networkidle")
        assert all(url.startswith(live_server.url) for url, _ in fetched), fetched
        # The page names every module it imports up front, and nothing it does not use.
        preloaded = set(page.eval_on_selector_all(
            "link[rel=modulepreload]", "links => links.map((l) => l.href)"))
        modules = {url for url, _ in fetched if url.endswith(".js")}
        entry_and_classic = {live_server.url + "/static/js/app.js",
                             live_server.url + "/static/vendor/purify.min.js"}
        assert preloaded == modules - entry_and_classic, (preloaded, modules)
        total = sum(size for _, size in fetched)
        print(f"\npage weight: {total} bytes in {len(fetched)} requests")
        assert total < 400_000
    finally:
        context.close()


def test_lan_token_page_then_chat(page, make_server):
    server = make_server(HOST="0.0.0.0")
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_have_text("Access token needed")
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("not right")
    page.fill("#token", server.app.config["ACCESS_TOKEN"])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")  # the token is gone from the address bar
    open_chat(page, server.url + "/")
    send(page, "over the network")
    expect(stored_reply(page).locator(".message-content")).to_have_text(
        "You said: over the network")


def test_a_cloud_model_is_marked_in_the_picker_and_the_sidebar(page, live_server, fake_ollama):
    fake_ollama.add_model("gpt-oss:120b-cloud", size=384, remote_host="https://ollama.com:443")
    open_chat(page, live_server.url)
    option = page.locator("#model-select option[value='gpt-oss:120b-cloud']")
    expect(option).to_have_text("gpt-oss:120b-cloud (cloud: ollama.com)")
    expect(page.locator(f"#model-select option[value='{MODEL}']")).to_have_text(MODEL)
    item = page.locator("li.installed-item[data-model='gpt-oss:120b-cloud']")
    expect(item.locator(".model-facts")).to_contain_text("cloud: runs on ollama.com")
    expect(item.locator(".model-pick")).to_have_attribute("title", re.compile("leaves this"))
    local = page.locator(f"li.installed-item[data-model='{MODEL}'] .model-facts")
    expect(local).not_to_contain_text("cloud")


def test_why_a_reply_is_slow_to_start_is_said_where_it_will_appear(page, make_server,
                                                                    fake_ollama):
    server = make_server(NO_PRELOAD=True)
    fake_ollama.load_delay = 1.5
    open_chat(page, server.url)
    send(page, "first")
    expect(stored_reply(page).locator(".message-content")).to_have_text("You said: first")
    # The reply is read into the prompt cache while the user reads (relay/cache_warm.py):
    # that request ends first, or Ollama would put the unload off until it had.
    assert server.services.cache_warm.idle(10)
    requests.post(f"{fake_ollama.url}/api/generate", json={"model": MODEL, "keep_alive": 0},
                  timeout=5)
    assert wait_until(lambda: MODEL not in fake_ollama.loaded_names(), timeout=10)
    for host in server.services.hosts.hosts:  # its /api/ps look of just now is stale:
        host.forget("ps")  # another client unloaded the model behind the app's back
    fake_ollama.load_delay = 8.0  # long enough for a second tab to open meanwhile
    send(page, "second")
    wait = last_reply(page).locator(".reply-wait")
    expect(wait).to_have_text(re.compile(
        r"^loading gemma3:270m \(it took 1\.[5-9] s last time\)$"))
    # A tab opened now follows the reply, and is told why it is slow as the first was.
    other = page.context.new_page()
    other.goto(server.url)
    expect(last_reply(other).locator(".reply-wait")).to_have_text(wait.inner_text())
    expect(stored_reply(page).locator(".message-content")).to_have_text("You said: second",
                                                                        timeout=30_000)
    expect(other.locator(".reply-wait")).to_have_count(0)
    other.close()
    expect(page.locator(".reply-wait")).to_have_count(0)  # gone with the first token
