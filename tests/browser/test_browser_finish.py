"""In Chromium and Firefox: a finished reply keeps the element it streamed into, updated in place
with its id, stats and actions; the list is not dropped and drawn again from the history,
so the pane does not jump to the top and back after every reply."""

from __future__ import annotations

from ..support.page import MODEL, expect, import_chat

EXCHANGES = 40  # enough for the pane to scroll well past one screen
DRAW_MS = 60_000  # a long history drawn in slices: over 20 s in Firefox at load 24

# Watches the pane from before the message is sent: the first streamed reply element
# added, every message element removed, and the lowest scroll position seen (at every
# scroll event and every frame).
WATCH = """() => {
    const pane = document.getElementById("messages");
    const seen = { streamed: null, removed: [], lowest: pane.scrollTop, frames: 0 };
    window.finishSeen = seen;
    new MutationObserver((records) => {
        for (const record of records) {
            for (const node of record.addedNodes) {
                if (!seen.streamed && node.matches?.(".message.assistant[data-id='0']")) {
                    seen.streamed = node;
                }
            }
            for (const node of record.removedNodes) {
                if (node.matches?.(".message")) seen.removed.push(node.dataset.id);
            }
        }
    }).observe(pane, { childList: true });
    const low = () => { seen.lowest = Math.min(seen.lowest, pane.scrollTop); };
    pane.addEventListener("scroll", low);
    const sample = () => { low(); seen.frames += 1; requestAnimationFrame(sample); };
    requestAnimationFrame(sample);
}"""

SETTLED = """() => {
    const seen = window.finishSeen;
    const node = seen.streamed;
    const stored = [...document.querySelectorAll("#messages .message.assistant")].pop();
    return { same: node === stored, connected: Boolean(node?.isConnected),
             id: node?.dataset.id, status: node?.dataset.status,
             stats: node?.querySelector(":scope > .stats")?.textContent || "",
             actions: [...(node?.querySelectorAll(":scope > .message-actions button") || [])]
                 .map((b) => b.textContent),
             text: node?.querySelector(".message-content")?.textContent || "",
             removed: seen.removed, lowest: seen.lowest, frames: seen.frames };
}"""


def test_a_finished_reply_keeps_its_element_and_the_pane_stays(page, live_server, tmp_path):
    page.goto(live_server.url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    expect(page.locator(f"#model-select option[value='{MODEL}']")).to_have_count(1)
    messages = []
    for i in range(EXCHANGES):
        messages += [{"role": "user", "content": f"question {i}"},
                     {"role": "assistant", "content": f"answer {i}\n\nwith a second line",
                      "model": MODEL}]
    import_chat(page, tmp_path / "long.json", "Long one", messages)
    pane = page.locator("#messages")
    expect(pane).to_have_attribute("aria-busy", "false", timeout=DRAW_MS)
    page.select_option("#model-select", MODEL)
    expect(page.locator("#send")).to_be_enabled()
    assert pane.evaluate("p => p.scrollTop") > 0

    page.evaluate(WATCH)
    page.fill("#prompt", "one more")
    page.press("#prompt", "Enter")
    # Settled: the reply has its stored id, and its actions (from the history) are drawn.
    reply = page.locator(".message.assistant").last
    expect(reply).not_to_have_attribute("data-id", "0")
    expect(reply.locator(".message-actions .regenerate-button")).to_have_count(1)
    expect(page.locator(".message")).to_have_count(2 * EXCHANGES + 2)
    page.wait_for_function("window.finishSeen.frames > 5")  # frames after it were sampled
    seen = page.evaluate(SETTLED)
    assert seen["same"] and seen["connected"], seen  # the element it streamed into
    assert int(seen["id"]) > 0 and seen["status"] == "ok", seen
    assert "tokens" in seen["stats"], seen
    assert seen["actions"] == ["Copy", "Inspect", "Regenerate", "Delete"], seen
    assert "one more" in seen["text"], seen  # the stand-in echoes the question
    assert seen["removed"] == [], seen  # no message element was dropped and drawn again
    assert seen["lowest"] > 0, seen  # the pane never went to the top
    # The list is the history's: the previous reply lost Regenerate and Delete.
    before = page.locator(".message.assistant").nth(EXCHANGES - 1)
    expect(before.locator(".regenerate-button")).to_have_count(0)
    expect(before.locator(".copy-button")).to_have_count(1)
    expect(page.locator(".message.user").last.locator(".edit-button")).to_have_count(1)
    page.locator(".message.user").last.locator(".edit-button").click()
    expect(page.locator(".message.user").last.locator(".edit-input")).to_have_value("one more")
