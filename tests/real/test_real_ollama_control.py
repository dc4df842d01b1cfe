"""Stop and unload against a real Ollama (0.32.15; 0.24.0 too): the request really ends upstream.

Proof that Ollama ended a request comes from its own log when it runs on this machine
(../shared/real-ollama/start keeps one per port: Gin writes a line per request when its
handler returns), and in any case from the next request being answered at once.
"""

from __future__ import annotations

from typing import Any

from ..support.live import BrowserClient, ChatSocket, LiveServer, reply_text, wait_until
from ..support.real import (
    GEMMA,
    LOAD_ABANDONED,
    LOAD_STARTED,
    LONG_ANSWER,
    REPLY_TIMEOUT,
    ServeLog,
    load,
    loaded_names,
    needs_real_ollama,
    version,
)

pytestmark = needs_real_ollama

# What a reply that is not stopped would cost: at 45 tokens/s, 60 s or more (minutes on a
# busy machine). A stopped one ends at once, so each wait below tells the two apart.
LONG = {"num_predict": 3000}
ENDS_SOON = 30.0


def start_long_reply(ws: ChatSocket, **fields: Any) -> list[dict[str, Any]]:
    ws.send({"type": "chat", "text": LONG_ANSWER, "model": GEMMA, "options": LONG, **fields})
    return ws.recv_until("chunk", timeout=REPLY_TIMEOUT)


def loaded(user: BrowserClient) -> dict[str, Any]:
    return {m["name"]: m
            for m in user.http.get(user.server.url + "/api/loaded").json()["models"]}


def unload(user: BrowserClient) -> None:
    """Unload through the app and wait until Ollama no longer lists the model."""
    user.http.post(user.server.url + "/api/unload", json={"model": GEMMA}).raise_for_status()
    assert wait_until(lambda: GEMMA not in loaded(user), timeout=ENDS_SOON)


def ended_upstream(log: ServeLog | None, mark: int) -> bool:
    """Ollama logged the end of a /api/chat request since `mark` (True without a log)."""
    return log is None or wait_until(lambda: log.requests_since(mark, "/api/chat"),
                                     timeout=ENDS_SOON)


def answers_next(ws: ChatSocket, log: ServeLog | None) -> None:
    """The next message is answered: well before the stopped reply could have ended when
    that is the only proof (no log), else within a busy machine's reply time."""
    ws.send({"type": "chat", "text": "Hi", "model": GEMMA, "options": {"num_predict": 2}})
    within = REPLY_TIMEOUT if log is not None else ENDS_SOON
    assert ws.recv_until("done", "error", timeout=within)[-1]["type"] == "done"


def test_stop_mid_stream_ends_the_request_upstream(real_app: LiveServer) -> None:
    load(GEMMA)
    user = BrowserClient(real_app)
    ws = user.socket()
    log = ServeLog.find()
    mark = log.mark() if log else 0
    frames = start_long_reply(ws)
    ws.send({"type": "stop"})
    frames += ws.recv_until("done", "error", timeout=ENDS_SOON)
    assert frames[-1]["type"] == "done" and frames[-1]["stats"]["stopped"] is True
    reply = user.history()["messages"][-1]
    assert reply["status"] == "stopped" and reply["content"] == reply_text(frames) != ""
    assert ended_upstream(log, mark)
    answers_next(ws, log)


def test_stop_while_the_model_is_still_loading(real_app: LiveServer) -> None:
    user = BrowserClient(real_app)
    unload(user)
    ws = user.socket()
    log = ServeLog.find()
    release = version()
    assert log is None or release in LOAD_STARTED, (
        f"what does Ollama {release}'s log say when a load starts and is given up? "
        "Add it to LOAD_STARTED and LOAD_ABANDONED in tests/support/real.py")
    mark = log.mark() if log else 0
    ws.send({"type": "chat", "text": LONG_ANSWER, "model": GEMMA, "options": LONG})
    assert ws.recv(timeout=REPLY_TIMEOUT)["type"] == "start"
    # Stop once Ollama is loading the model (its log says the runner process is starting;
    # it lists the model in /api/ps from then on): a load takes a second or more (0.32
    # sizes the model to memory first), so the stop lands in it.
    if log is not None:
        assert wait_until(lambda: LOAD_STARTED[release] in log.since(mark),
                          timeout=REPLY_TIMEOUT)
    else:
        assert wait_until(lambda: GEMMA in loaded_names(), timeout=REPLY_TIMEOUT)
    stopped_at = log.mark() if log else 0
    ws.send({"type": "stop"})
    frames = ws.recv_until("done", "error", timeout=ENDS_SOON)
    assert [f["type"] for f in frames if f["type"] not in ("notice", "wait")] == ["done"]
    said = [f for f in frames if f["type"] == "wait"]  # the page said why it was slow
    assert said and said[0]["reason"] == "loading" and GEMMA in said[0]["message"]
    assert frames[-1]["stats"]["stopped"] is True
    asked = user.history()["messages"][-1]  # no reply kept: the message can be retried
    assert (asked["role"], asked["status"], asked["error"]) == (
        "user", "failed", "Stopped before any reply")
    assert ended_upstream(log, mark)
    if log is not None:  # the load itself was abandoned, once the stop reached Ollama
        assert wait_until(lambda: all(line in log.since(stopped_at)
                                      for line in LOAD_ABANDONED[release]), timeout=ENDS_SOON)
    assert wait_until(lambda: GEMMA not in loaded_names(), timeout=ENDS_SOON)  # not loaded
    answers_next(ws, log)


def test_unload_frees_the_model(real_app: LiveServer) -> None:
    load(GEMMA)
    user = BrowserClient(real_app)
    assert GEMMA in loaded(user)
    body = user.http.post(real_app.url + "/api/unload", json={"model": GEMMA}).json()
    assert (body["unloaded"], body["deferred"]) == (GEMMA, False)
    # gone: Ollama dropped it within the app's short wait (a busy machine may take longer)
    assert body["gone"] is True or wait_until(lambda: GEMMA not in loaded(user), ENDS_SOON)
    assert GEMMA not in loaded(user)


def test_unload_is_deferred_while_another_browser_is_answered(real_app: LiveServer) -> None:
    bob = BrowserClient(real_app).socket()
    alice = BrowserClient(real_app)
    bob.send({"type": "chat", "text": LONG_ANSWER, "model": GEMMA,
              "options": {"num_predict": 16}})
    frames = bob.recv_until("chunk", timeout=REPLY_TIMEOUT)
    body = alice.http.post(real_app.url + "/api/unload", json={"model": GEMMA}).json()
    assert (body["gone"], body["deferred"]) == (False, True)
    assert loaded(alice)[GEMMA]["unloading"] is True  # what the sidebar shows
    frames += bob.recv_until("done", "error", timeout=REPLY_TIMEOUT)
    # Bob's reply was not cut: it ran to its own end, then Ollama let the model go.
    assert frames[-1]["type"] == "done" and "stopped" not in frames[-1]["stats"]
    assert frames[-1]["stats"]["eval_count"] > 1
    assert wait_until(lambda: GEMMA not in loaded(alice), timeout=ENDS_SOON)
