"""A long conversation: 1,000 messages in the browser, and the server's cost per reply
as the history grows.

    python bench/long_chat.py [--exchanges 500]

(a) 500 user/assistant exchanges are stored through the app's own SessionManager for one
browser's session, the same calls a chat makes (add_user, the payload from the context
window, begin_reply, finish_reply). Chromium then opens the page with that browser's
cookie. In the page (init script): when the first `.message` appears (the newest ones,
drawn first) and when the count reaches 1,000 (MutationObserver; `performance.now()`
counts from the start of navigation), and every main-thread long task
(PerformanceObserver 'longtask': tasks over 50 ms). Then the list is scrolled to the top
and back to the bottom, and long tasks are counted again.
(b) For histories of 10, 100, 1,000 and 10,000 messages: the median time of
`context_window(cid)` and of one add_user + begin_reply + finish_reply cycle (50 each;
the rows each cycle adds are deleted again, untimed, so the length stays put).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from typing import Any

import _common
from _common import MODEL, bench_line, median

from tests.support.fake_ollama import FakeOllama
from tests.support.live import BrowserClient, LiveServer
from webchat.relay.payload import build_payload

WORDS = ("the model answer context window token stream reply message ollama server "
         "browser history python socket prompt system memory layer weight cache page "
         "list item code example result value error case test run time data").split()
LENGTHS = (10, 100, 1000, 10000)
REPEATS = 50

INIT_SCRIPT = """
window.__bench = {longtasks: [], renderedAt: null, firstAt: null};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__bench.longtasks.push({start: entry.startTime, duration: entry.duration});
  }
}).observe({type: "longtask", buffered: true});
const watch = () => {
  const target = document.getElementById("messages");
  if (!target) return;
  const observer = new MutationObserver(() => {
    const count = target.querySelectorAll(".message").length;
    if (window.__bench.firstAt === null && count > 0) {
      window.__bench.firstAt = performance.now();
    }
    if (window.__bench.renderedAt === null && count >= window.__benchWanted) {
      window.__bench.renderedAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(target, {childList: true});
};
document.addEventListener("DOMContentLoaded", watch);
"""

SCROLL = """
async () => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const pane = document.getElementById("messages");
  const started = performance.now();
  pane.scrollTop = 0;
  await frame(); await frame();
  const atTop = performance.now();
  pane.scrollTop = pane.scrollHeight;
  await frame(); await frame();
  return {started, atTop, ended: performance.now(), height: pane.scrollHeight};
}
"""


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def user_text(rng: random.Random) -> str:
    return " ".join(sentence(rng, rng.randint(6, 20)) for _ in range(rng.randint(1, 3)))


def reply_text(rng: random.Random) -> str:
    paragraphs = [" ".join(sentence(rng, rng.randint(8, 24)) for _ in range(rng.randint(2, 5)))
                  for _ in range(rng.randint(1, 4))]
    return "\n\n".join(paragraphs)


STATS = {"done_reason": "stop", "total_duration": 2_500_000_000, "load_duration": 100_000_000,
         "prompt_eval_count": 420, "prompt_eval_duration": 300_000_000, "eval_count": 180,
         "eval_duration": 2_000_000_000, "tokens_per_second": 90.0, "model": MODEL,
         "endpoint": "chat", "elapsed_ms": 2510.0, "first_token_ms": 410.0}


def exchange(sessions: Any, sid: str, question: str, answer: str) -> tuple[int, int]:
    """What one chat does to the store, in the app's order (in the browser's most recent
    conversation)."""
    cid = sessions.conversations.resolve(sid)
    user_id = sessions.exchanges.add_user(sid, cid, question, MODEL)
    payload = build_payload("chat", MODEL, sessions.conversations.system_prompt(cid),
                            sessions.history.context_window(cid), {})
    reply_id = sessions.exchanges.begin_reply(sid, cid, MODEL, "chat", payload)
    sessions.exchanges.finish_reply(user_id, reply_id, answer, "", "ok", STATS, None)
    return user_id, reply_id


def session_id(server: LiveServer, user: BrowserClient) -> str:
    """The id inside the signed cookie, read with the app's own serializer."""
    serializer = server.app.session_interface.get_signing_serializer(server.app)
    return serializer.loads(user.http.cookies["webchat_session"])["sid"]


def browser_figures(server: LiveServer, user: BrowserClient, wanted: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_common.chromium_path(), headless=True,
                                    args=_common.CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": c.name, "value": c.value or "", "url": server.url}
                                 for c in user.http.cookies])
            context.add_init_script(f"window.__benchWanted = {wanted};\n{INIT_SCRIPT}")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            started = time.perf_counter()
            page.goto(server.url + "/")
            # (wait_for_function would eval a string, which the page's CSP forbids)
            deadline = time.monotonic() + 60
            while page.evaluate("window.__bench.renderedAt") is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{wanted} messages were not rendered within 60 s")
                page.wait_for_timeout(20)
            outside_ms = (time.perf_counter() - started) * 1000
            page.wait_for_timeout(1000)  # let the tasks after the render finish and report
            load = page.evaluate("window.__bench")
            count = page.locator(".message").count()
            scroll = page.evaluate(SCROLL)
            page.wait_for_timeout(500)
            after = page.evaluate("window.__bench.longtasks")
            context.close()
        finally:
            browser.close()
    if errors:
        raise RuntimeError(f"the page raised: {errors}")
    load_tasks = [t["duration"] for t in load["longtasks"]]
    scroll_tasks = [t["duration"] for t in after if t["start"] >= scroll["started"]]
    return {"render_ms": load["renderedAt"], "first_ms": load["firstAt"],
            "render_outside_ms": outside_ms,
            "rendered": count, "longtask_max_ms": max(load_tasks, default=0.0),
            "longtask_total_ms": sum(load_tasks), "longtasks": len(load_tasks),
            "scroll_ms": scroll["ended"] - scroll["started"],
            "scroll_longtask_max_ms": max(scroll_tasks, default=0.0),
            "scroll_height": scroll["height"]}


def server_figures(sessions: Any, rng: random.Random) -> dict[str, float]:
    """Fill one session per length, then time the lengths in turn (round robin), so a
    drift of the machine during the run hits every length alike."""
    sids: dict[int, str] = {}
    for length in LENGTHS:
        sids[length] = sessions.create()
        started = time.perf_counter()
        for _ in range(length // 2):
            exchange(sessions, sids[length], user_text(rng), reply_text(rng))
        print(f"  {length:>6} messages stored in {time.perf_counter() - started:.1f} s")
    window_times: dict[int, list[float]] = {length: [] for length in LENGTHS}
    save_times: dict[int, list[float]] = {length: [] for length in LENGTHS}
    question, answer = user_text(rng), reply_text(rng)
    for _ in range(REPEATS):
        for length, sid in sids.items():
            cid = sessions.conversations.resolve(sid)
            t0 = time.perf_counter()
            sessions.history.context_window(cid)
            window_times[length].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            user_id = sessions.exchanges.add_user(sid, cid, question, MODEL)
            reply_id = sessions.exchanges.begin_reply(sid, cid, MODEL, "chat", {"model": MODEL})
            sessions.exchanges.finish_reply(user_id, reply_id, answer, "", "ok", STATS, None)
            save_times[length].append(time.perf_counter() - t0)
            with sessions.db.transaction() as conn:  # back to `length` messages
                conn.execute("DELETE FROM messages WHERE id IN (?, ?)", (user_id, reply_id))
    figures: dict[str, float] = {}
    for length in LENGTHS:
        figures[f"window_ms_{length}"] = median(window_times[length]) * 1000
        figures[f"save_ms_{length}"] = median(save_times[length]) * 1000
        print(f"  {length:>6} messages: context_window {figures[f'window_ms_{length}']:.3f} ms, "
              f"save cycle {figures[f'save_ms_{length}']:.3f} ms (medians of {REPEATS})")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description="A 1,000-message conversation.")
    parser.add_argument("--exchanges", type=int, default=500)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # as run.py does
    rng = random.Random(1000)
    wanted = args.exchanges * 2

    with _common.temp_dir("long-chat") as tmp, FakeOllama() as fake:
        server = LiveServer(tmp / "data", fake.url, **_common.NO_LIMITS_CONFIG)
        try:
            user = BrowserClient(server)
            sid = session_id(server, user)
            sessions = server.services.sessions
            started = time.perf_counter()
            for _ in range(args.exchanges):
                exchange(sessions, sid, user_text(rng), reply_text(rng))
            stored = time.perf_counter() - started
            t0 = time.perf_counter()
            history = user.http.get(server.url + "/api/history", timeout=30)
            history_ms = (time.perf_counter() - t0) * 1000
            history.raise_for_status()
            history_kb = len(history.content) / 1024
            messages = history.json()["messages"]
            assert len(messages) == wanted
            request_kb = sum(len(json.dumps(m["request"])) for m in messages
                             if m.get("request")) / 1024
            text_kb = sum(len(m["content"].encode()) for m in messages) / 1024
            print(f"long_chat: {wanted} messages stored in {stored:.1f} s; GET /api/history "
                  f"{history_ms:.0f} ms, {history_kb:.0f} KB, of which {request_kb:.0f} KB are "
                  f"the replies' stored request payloads and {text_kb:.0f} KB the message text")
            page = browser_figures(server, user, wanted)
            print(f"  Chromium: newest messages shown {page['first_ms']:.0f} ms, all "
                  f"{page['rendered']} rendered {page['render_ms']:.0f} ms "
                  f"after navigation start ({page['render_outside_ms']:.0f} ms seen from "
                  f"Playwright); {page['longtasks']} long tasks, max "
                  f"{page['longtask_max_ms']:.0f} ms, total {page['longtask_total_ms']:.0f} ms")
            print(f"  scroll to top and back ({page['scroll_height']} px): "
                  f"{page['scroll_ms']:.0f} ms, longest task "
                  f"{page['scroll_longtask_max_ms']:.0f} ms")
            server_side = server_figures(sessions, rng)
            user.close()
        finally:
            server.stop()

    print(bench_line("long_chat", messages=wanted, first_ms=page["first_ms"],
                     render_ms=page["render_ms"],
                     longtask_max_ms=page["longtask_max_ms"],
                     longtask_total_ms=page["longtask_total_ms"],
                     scroll_ms=page["scroll_ms"],
                     scroll_longtask_max_ms=page["scroll_longtask_max_ms"],
                     history_ms=history_ms, history_kb=history_kb, **server_side))
    return 0


if __name__ == "__main__":
    sys.exit(main())
