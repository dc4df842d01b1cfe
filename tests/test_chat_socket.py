"""The `/ws` contract, over a real socket to a live server and a live stand-in Ollama."""

from __future__ import annotations

import json
import time

import pytest

from .support.fake_ollama import CAPTURES, FakeOllama
from .support.live import BrowserClient, reply_text, wait_until


def capture_text(name: str) -> str:
    lines = [json.loads(line) for line in (CAPTURES / name).read_text().splitlines() if line]
    return "".join((line.get("message") or {}).get("content") or line.get("response") or ""
                   for line in lines)


def test_reply_streams_in_order_and_complete(fake_ollama, user):
    tokens = [f" tok{i}" for i in range(50)]
    fake_ollama.script(tokens=tokens, delay=0.002)
    frames = user.socket().chat("count for me")
    assert frames[0]["type"] == "start"
    chunks = [f["text"] for f in frames if f["type"] == "chunk"]
    assert "".join(chunks) == "".join(tokens)
    # Each frame carries whole tokens in order (a backlog may join several into one).
    boundaries = {len("".join(tokens[:i])) for i in range(len(tokens) + 1)}
    assert all(len("".join(chunks[:i])) in boundaries for i in range(len(chunks) + 1))
    done = frames[-1]
    assert done["type"] == "done"
    assert done["stats"]["eval_count"] == len(tokens)
    assert done["stats"]["tokens_per_second"] > 0
    assert done["stats"]["model"] == "gemma3:270m"
    messages = user.history()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "ok"), ("assistant", "ok")]
    assert messages[1]["content"] == "".join(tokens)
    request = user.stored_request(user.history(), 1)
    assert request["messages"][-1] == {"role": "user", "content": "count for me"}


@pytest.mark.parametrize("capture", ["chat-stream.ndjson", "chat-stream-200.ndjson"])
def test_captured_ollama_stream_is_relayed_whole(fake_ollama, user, capture):
    fake_ollama.replay(CAPTURES / capture)
    frames = user.socket().chat("hello")
    assert reply_text(frames) == capture_text(capture)
    final = json.loads((CAPTURES / capture).read_text().splitlines()[-1])
    assert frames[-1]["stats"]["eval_count"] == final["eval_count"]
    assert frames[-1]["stats"]["done_reason"] == final["done_reason"]


def test_generate_mode_sends_the_flattened_prompt(fake_ollama, user):
    ws = user.socket()
    ws.send({"type": "system", "text": "Be brief."})
    assert ws.recv()["type"] == "system_set"
    fake_ollama.replay(CAPTURES / "generate-stream.ndjson")
    frames = ws.chat("Why is the sky blue?", endpoint="generate")
    assert reply_text(frames) == capture_text("generate-stream.ndjson")
    prompt = fake_ollama.last_payload("/api/generate")["prompt"]
    assert prompt.startswith("System: Be brief.")
    assert prompt.endswith("User: Why is the sky blue?\nAssistant:")


def test_window_keeps_system_prompt_and_last_n(make_server, fake_ollama):
    """The seed's sliding window, made of whole exchanges (tests/test_window.py has more)."""
    server = make_server(MAX_HISTORY=4, WINDOW_STEP=0)
    user = BrowserClient(server)
    ws = user.socket()
    ws.send({"type": "system", "text": "You are terse."})
    ws.recv()
    for i in range(4):
        assert ws.chat(f"question {i}")[-1]["type"] == "done"
    sent = fake_ollama.last_payload("/api/chat")["messages"]
    assert sent[0] == {"role": "system", "content": "You are terse."}
    assert len(sent) == 1 + 5
    assert sent[-1]["content"] == "question 3"
    # The last 4 begin with question 1's reply: its question comes along, so the
    # window starts with a question and Gemma 3's template keeps the system prompt.
    assert sent[1] == {"role": "user", "content": "question 1"}
    history = user.history()["messages"]
    assert len(history) == 8  # nothing was deleted by trimming
    # Marked for the next message: it will carry the last two exchanges.
    assert [m["in_context"] for m in history] == [False] * 4 + [True] * 4


def test_clear_keeps_the_system_prompt(fake_ollama, user):
    ws = user.socket()
    ws.send({"type": "system", "text": "Answer in French."})
    ws.recv()
    ws.chat("hello")
    ws.send({"type": "clear"})
    assert ws.recv()["type"] == "cleared"
    history = user.history()
    assert history["messages"] == []
    assert history["system"] == "Answer in French."
    ws.chat("again")
    assert fake_ollama.last_payload("/api/chat")["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "again"},
    ]


def test_two_browsers_never_see_each_other(live_server, fake_ollama):
    alice, bob = BrowserClient(live_server), BrowserClient(live_server)
    alice.socket().chat("alice's secret")
    bob.socket().chat("bob's question")
    assert "alice" not in json.dumps(fake_ollama.last_payload("/api/chat"))
    assert [m["content"] for m in bob.history()["messages"]][0] == "bob's question"
    assert all("bob" not in m["content"] for m in alice.history()["messages"])


def test_restart_keeps_history(make_server):
    server = make_server()
    user = BrowserClient(server)
    user.socket().chat("remember me")
    user.close()
    server.stop()
    restarted = make_server(data_dir=server.data_dir)  # the same folder: a restart
    user.server = restarted
    messages = user.history()["messages"]
    assert [m["content"] for m in messages][0] == "remember me"
    assert messages[1]["status"] == "ok"


def test_stop_mid_reply_hangs_up_on_ollama_and_keeps_the_partial(fake_ollama, user):
    fake_ollama.script(tokens=[f" w{i}" for i in range(500)], delay=0.02)
    ws = user.socket()
    ws.send({"type": "chat", "text": "talk a lot", "model": "gemma3:270m"})
    frames = ws.recv_until("chunk")
    ws.send({"type": "stop"})
    frames += ws.recv_until("done", "error")
    assert frames[-1] == {"type": "done", "stats": frames[-1]["stats"], "conversation": 1}
    assert frames[-1]["stats"]["stopped"] is True
    assert fake_ollama.wait_for_disconnect(2)
    partial = reply_text(frames)
    reply = user.history()["messages"][1]
    assert reply["status"] == "stopped"
    assert reply["content"] == partial and 0 < len(partial) < len(" w0") * 500


def test_stop_while_the_model_is_still_loading(fake_ollama, user):
    fake_ollama.script(load_delay=30)
    ws = user.socket()
    ws.send({"type": "chat", "text": "hi", "model": "gemma3:270m"})
    assert ws.recv()["type"] == "start"
    time.sleep(0.2)  # Ollama has the request and has sent nothing back
    started = time.monotonic()
    ws.send({"type": "stop"})
    done = ws.recv_until("done", "error", timeout=5)[-1]
    assert done["type"] == "done" and done["stats"]["stopped"] is True
    assert time.monotonic() - started < 2
    assert fake_ollama.wait_for_disconnect(2)
    user_message = user.history()["messages"][0]
    assert user_message["status"] == "failed"  # not sent again as if answered
    assert ws.chat("hi again")[-1]["type"] == "done"
    assert fake_ollama.last_payload("/api/chat")["messages"] == [
        {"role": "user", "content": "hi again"}]


def test_a_reply_outlives_a_reload_and_reaches_every_tab(fake_ollama, user):
    """Item 3 and 10: the tab that asked closes mid-reply; one that follows the browser's
    replies saw it start and stream live; one that opens later resumes where it is."""
    tokens = [f" w{i}" for i in range(60)]
    fake_ollama.script(tokens=tokens, delay=0.02)
    other = user.socket()
    other.send({"type": "watch", "replies": True})
    other.recv_until("loaded")  # following now: on busy cores the chat could start first
    asking = user.socket()
    asking.send({"type": "chat", "text": "long one", "model": "gemma3:270m"})
    asking.recv_until("chunk")
    asking.close()  # a reload: the reply goes on
    seen = other.recv_until("done", "error")
    start = next(f for f in seen if f["type"] == "start")
    assert start["model"] == "gemma3:270m" and start["message_id"]
    assert seen[-1]["type"] == "done" and reply_text(seen) == "".join(tokens)
    assert fake_ollama.disconnects == 0
    assert user.history()["messages"][1]["status"] == "ok"

    fake_ollama.script(tokens=tokens, delay=0.02)
    other.send({"type": "chat", "text": "again", "model": "gemma3:270m"})
    other.recv_until("chunk")
    other.close()  # no tab left: the grace runs
    back = user.socket()
    back.send({"type": "watch", "replies": True})
    frames = back.recv_until("done", "error")
    resume = next(f for f in frames if f["type"] == "resume")
    assert resume["text"] and resume["model"] == "gemma3:270m"
    assert resume["text"] + reply_text(frames) == "".join(tokens)  # no gap, no double
    assert frames[-1]["type"] == "done" and fake_ollama.disconnects == 0


def test_nobody_back_within_the_grace_closes_the_upstream_request(make_server, fake_ollama):
    server = make_server(REPLY_GRACE=0.3)
    user = BrowserClient(server)
    fake_ollama.script(tokens=[" x"] * 1000, delay=0.02)
    ws = user.socket()
    ws.send({"type": "chat", "text": "long one", "model": "gemma3:270m"})
    ws.recv_until("chunk")
    ws.close()
    assert fake_ollama.wait_for_disconnect(5)
    assert wait_until(lambda: not user.history()["generating"])
    reply = user.history()["messages"][1]
    assert reply["status"] == "interrupted" and reply["content"].startswith(" x")
    assert "none came back within 0.3 s" in reply["error"]


def test_stop_names_its_conversation_and_a_chat_right_after_waits(fake_ollama, user):
    """Item 4 and 14: a stop from another conversation stops nothing; a chat sent right
    after a stop waits for the stopping reply instead of being refused as busy."""
    ws = user.socket()
    fake_ollama.script(tokens=[" s"] * 500, delay=0.02)
    ws.send({"type": "chat", "text": "long", "model": "gemma3:270m"})
    cid = ws.recv_until("chunk")[0]["conversation"]
    ws.send({"type": "stop", "conversation": cid + 1000})
    ws.send({"type": "stop", "conversation": cid})
    ws.send({"type": "chat", "text": "next", "model": "gemma3:270m"})
    frames = ws.recv_until("done", "error")
    assert frames[-1]["type"] == "done" and frames[-1]["stats"]["stopped"] is True
    stats = frames[-1]["stats"]
    assert stats["eval_count"] >= 1 and "first_token_ms" in stats  # what is known
    frames = ws.recv_until("done", "error")
    assert [f["type"] for f in frames if f["type"] in ("start", "error")] == ["start"]
    assert frames[-1]["type"] == "done"


def test_a_silent_ollama_is_said_and_the_notice_clears(make_server, fake_ollama):
    server = make_server(SILENCE_NOTICE=0.3)
    fake_ollama.script(tokens=[" a", " b"], delay=0.8)
    frames = BrowserClient(server).socket().chat("hello?")
    notices = [f for f in frames if f["type"] == "notice"]
    assert notices and "Ollama" in notices[0]["message"] and not notices[0].get("clear")
    assert notices[-1]["clear"] is True and frames[-1]["type"] == "done"
    assert frames.index(notices[-1]) < len(frames) - 2  # cleared when bytes came


def test_unknown_model_is_a_clear_error_and_the_socket_lives(fake_ollama, user):
    ws = user.socket()
    frames = ws.chat("hi", model="nope")
    assert frames[-1]["type"] == "error"
    assert "not found" in frames[-1]["message"] and "nope" in frames[-1]["message"]
    assert user.history()["messages"][0]["status"] == "failed"
    assert ws.chat("hi")[-1]["type"] == "done"


def test_retry_resends_a_failed_message_once(fake_ollama, user):
    ws = user.socket()
    fake_ollama.script(error_after=0, error_message="model runner crashed")
    failed = ws.chat("please work")
    assert failed[-1]["type"] == "error" and "model runner crashed" in failed[-1]["message"]
    message_id = failed[0]["message_id"]
    ws.send({"type": "retry", "id": message_id, "model": "gemma3:270m"})
    frames = ws.recv_until("done", "error")
    assert frames[-1]["type"] == "done"
    messages = user.history()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "ok"), ("assistant", "ok")]
    assert fake_ollama.last_payload("/api/chat")["messages"] == [
        {"role": "user", "content": "please work"}]
    ws.send({"type": "retry", "id": message_id, "model": "gemma3:270m"})
    assert ws.recv()["code"] == "invalid"


def test_ollama_down_at_start(make_server, fake_ollama):
    port = fake_ollama.port
    fake_ollama.stop()
    server = make_server(ollama_url=f"http://127.0.0.1:{port}")
    user = BrowserClient(server)
    frames = user.socket().chat("anyone there?")
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "ollama"
    assert "Cannot reach Ollama" in frames[-1]["message"]
    response = user.http.get(server.url + "/api/loaded")
    assert response.status_code == 503 and "Cannot reach Ollama" in response.json()["error"]
    with FakeOllama(port=port):
        assert user.socket().chat("now?")[-1]["type"] == "done"
        assert user.http.get(server.url + "/api/loaded").status_code == 200


@pytest.mark.parametrize("fault, expected", [
    ({"break_after": 3}, "broke mid-reply"),
    ({"error_after": 3, "error_message": "out of memory"}, "out of memory"),
    ({"no_done": True}, "without finishing"),
    ({"garbage_after": 3}, "not JSON"),
])
def test_ollama_failing_mid_stream_keeps_the_partial(fake_ollama, user, fault, expected):
    fake_ollama.script(tokens=[" a", " b", " c", " d", " e"], **fault)
    ws = user.socket()
    frames = ws.chat("go")
    assert frames[-1]["type"] == "error" and expected in frames[-1]["message"]
    assert "Connection" not in frames[-1]["message"]  # Python's detail goes to the log
    partial = reply_text(frames)
    assert partial.startswith(" a b c")
    reply = user.history()["messages"][1]
    assert reply["status"] == "error" and reply["content"] == partial
    assert ws.chat("still there?")[-1]["type"] == "done"


def test_ollama_dying_mid_stream(fake_ollama, user):
    fake_ollama.script(tokens=[" a"] * 100, delay=0.02)
    ws = user.socket()
    ws.send({"type": "chat", "text": "go", "model": "gemma3:270m"})
    ws.recv_until("chunk")
    fake_ollama.stop()
    error = ws.recv_until("done", "error")[-1]
    assert error["type"] == "error" and error["partial"] is True
    assert user.history()["messages"][1]["status"] == "error"


def test_second_chat_while_busy_is_refused_and_first_finishes(fake_ollama, user):
    fake_ollama.script(tokens=[" t"] * 30, delay=0.01)
    ws = user.socket()
    ws.send({"type": "chat", "text": "first", "model": "gemma3:270m"})
    frames = ws.recv_until("chunk")
    ws.send({"type": "chat", "text": "second", "model": "gemma3:270m"})
    frames += ws.recv_until("done")
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["busy"]
    assert reply_text(frames) == " t" * 30
    assert [m["content"] for m in user.history()["messages"] if m["role"] == "user"] == ["first"]


@pytest.mark.parametrize("frame, code, words", [
    ("not json", "bad_frame", "not valid JSON"),
    ("[1, 2]", "bad_frame", "type"),
    ('{"type": "dance"}', "bad_frame", "Unknown frame type"),
    ({"type": "chat", "text": "", "model": "gemma3:270m"}, "invalid", "empty"),
    ({"type": "chat", "text": 5, "model": "gemma3:270m"}, "invalid", "text"),
    ({"type": "chat", "text": "x" * 40000, "model": "gemma3:270m"}, "invalid", "limit"),
    ({"type": "chat", "text": "hi"}, "invalid", "model"),
    ({"type": "chat", "text": "hi", "model": "../../etc"}, "invalid", "model"),
    ({"type": "chat", "text": "hi", "model": "gemma3:270m",
      "options": {"temperature": "hot"}}, "invalid", "options.temperature"),
    ({"type": "chat", "text": "hi", "model": "gemma3:270m",
      "options": {"top_p": 7}}, "invalid", "options.top_p"),
    ({"type": "chat", "text": "hi", "model": "gemma3:270m",
      "options": {"temprature": 1}}, "invalid", "temprature"),
    ({"type": "chat", "text": "hi", "model": "gemma3:270m",
      "keep_alive": "forever"}, "invalid", "keep_alive"),
    ({"type": "chat", "text": "hi", "model": "gemma3:270m", "endpoint": "x"}, "invalid",
     "endpoint"),
])
def test_bad_frames_get_an_error_and_the_socket_stays_open(fake_ollama, user, frame, code,
                                                           words):
    ws = user.socket()
    ws.send(frame)
    error = ws.recv()
    assert error["type"] == "error" and error["code"] == code
    assert words in error["message"]
    assert ws.chat("fine now")[-1]["type"] == "done"
    assert [m["content"] for m in user.history()["messages"]][0] == "fine now"


def test_binary_frame_is_refused(user):
    ws = user.socket()
    ws.ws.send(b"\x00\x01")
    assert ws.recv()["code"] == "bad_frame"


def test_frame_over_the_frame_limit_closes_only_that_socket(live_server, user):
    ws = user.socket()
    ws.send("x" * (live_server.app.config["MAX_FRAME_BYTES"] + 10))
    with pytest.raises(Exception):  # noqa: B017 - closed by the server, code 1009
        ws.recv(timeout=3)
    assert user.socket().chat("hello")[-1]["type"] == "done"


def test_options_and_keep_alive_reach_ollama(fake_ollama, user):
    user.socket().chat("hi", options={"temperature": 0.2, "top_p": 0.9, "seed": 7,
                                      "stop": ["\n\n"], "keep_alive": "10m"})
    payload = fake_ollama.last_payload("/api/chat")
    assert payload["options"] == {"temperature": 0.2, "top_p": 0.9, "seed": 7,
                                  "stop": ["\n\n"]}
    assert payload["keep_alive"] == "10m"


def test_thinking_is_streamed_separately(fake_ollama, user):
    fake_ollama.script(tokens=[" 42"], thinking=["Let me", " think"])
    frames = user.socket().chat("meaning of life?", model="thinker:latest", think=True)
    assert "".join(f["text"] for f in frames if f["type"] == "thinking") == "Let me think"
    assert reply_text(frames) == " 42"
    assert fake_ollama.last_payload("/api/chat")["think"] is True
    assert user.history()["messages"][1]["thinking"] == "Let me think"


# gpt-oss's template (abridged): harmony's tags are what make Ollama take think levels.
HARMONY = "<|start|>system<|message|>Reasoning: {{ .ThinkLevel }}<|end|>{{ .Prompt }}"


@pytest.mark.parametrize(("asked", "sent", "thinks"), [
    (False, False, False), (None, False, False), (True, True, True)])
def test_think_off_is_sent_as_false_to_a_thinking_model(fake_ollama, user, asked, sent,
                                                         thinks):
    """Ollama makes a thinking model think when `think` is left out: off (and a frame
    that says nothing) must reach it as false, or the model thinks anyway."""
    fields = {} if asked is None else {"think": asked}
    frames = user.socket().chat("hi", model="thinker:latest", **fields)
    assert fake_ollama.last_payload("/api/chat")["think"] is sent
    assert any(f["type"] == "thinking" for f in frames) is thinks
    assert frames[-1]["type"] == "done"
    history = user.history()
    url = (f"{user.server.url}/api/conversations/{history['conversation']}"
           f"/messages/{history['messages'][-1]['id']}")
    assert user.http.get(url).json()["request"]["think"] is sent  # the inspector's JSON


@pytest.mark.parametrize("asked", [True, False, "high"])
def test_think_never_reaches_a_model_that_cannot_think(fake_ollama, user, asked):
    frames = user.socket().chat("hi", think=asked)  # gemma3:270m: true would be a 400
    assert frames[-1]["type"] == "done"
    assert "think" not in fake_ollama.last_payload("/api/chat")


@pytest.mark.parametrize(("asked", "sent"), [
    ("low", "low"), ("high", "high"), (True, "medium"), (None, "low"), (False, "low")])
def test_a_level_model_gets_a_level(fake_ollama, user, asked, sent):
    """gpt-oss ignores true and false (it thinks at medium): it is sent a level."""
    fake_ollama.add_model("gpt-oss:20b", family="gptoss", template=HARMONY,
                          capabilities=("completion", "thinking", "tools"))
    fields = {} if asked is None else {"think": asked}
    frames = user.socket().chat("hi", model="gpt-oss:20b", **fields)
    assert frames[-1]["type"] == "done"
    assert fake_ollama.last_payload("/api/chat")["think"] == sent
    info = user.http.get(user.server.url + "/api/show", params={"model": "gpt-oss:20b"})
    assert info.json()["think_levels"] == ["low", "medium", "high"]


@pytest.mark.parametrize("asked", ["extreme", 1, [], "max"])
def test_a_bad_think_is_refused_before_anything_is_sent(fake_ollama, user, asked):
    frames = user.socket().chat("hi", model="thinker:latest", think=asked)
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "invalid"
    assert frames[-1]["message"] == "think: must be true, false or one of low, medium, high"
    assert fake_ollama.last_payload("/api/chat") is None


def waits(frames):
    return [f for f in frames if f["type"] == "wait"]


def test_a_loading_model_is_said_with_its_last_load_time(fake_ollama, user):
    fake_ollama.load_delay = 0.6
    ws = user.socket()
    frames = ws.chat("hello")
    said, cleared = waits(frames)
    assert (said["reason"], said["message"], said["last_load_s"]) == (
        "loading", "loading gemma3:270m…", None)  # never loaded here before
    assert cleared == {"type": "wait", "clear": True, "conversation": said["conversation"]}
    first_chunk = next(i for i, f in enumerate(frames) if f["type"] == "chunk")
    assert frames.index(said) == 1 and frames.index(cleared) < first_chunk
    assert waits(ws.chat("warm now")) == []  # in memory: nothing to say
    user.http.post(user.server.url + "/api/unload", json={"model": "gemma3:270m"})
    assert wait_until(lambda: "gemma3:270m" not in fake_ollama.loaded_names())
    said = waits(ws.chat("cold again"))[0]
    took = frames[-1]["stats"]["load_duration"] / 1e9  # the first reply's load
    assert said["last_load_s"] == round(took, 1) and took >= 0.6
    assert said["message"] == f"loading gemma3:270m (it took {took:.1f} s last time)"


def test_a_tab_that_joins_while_the_model_loads_is_told_why_too(fake_ollama, user):
    """A second tab (or a reload) that follows a reply not begun yet gets, after `resume`,
    the `wait` frame showing now, then its clear: it says what the first tab says."""
    fake_ollama.script(tokens=[" late"], load_delay=1.5)
    ws = user.socket()
    ws.send({"type": "chat", "text": "hello", "model": "gemma3:270m"})
    said = ws.recv_until("wait")[-1]
    assert said["reason"] == "loading"
    late = user.socket()
    late.send({"type": "watch", "replies": True})
    frames = late.recv_until("done", "error")
    kinds = [f["type"] for f in frames if f["type"] in ("resume", "wait", "chunk", "done")]
    assert kinds[:3] == ["resume", "wait", "wait"], kinds
    joined = waits(frames)
    assert joined[0]["message"] == said["message"]
    assert joined[0]["conversation"] == said["conversation"]
    assert joined[1]["clear"] is True and reply_text(frames) == " late"
    assert ws.recv_until("done")[-1]["type"] == "done"


def test_a_reply_behind_another_on_the_same_model_says_how_many_are_ahead(fake_ollama,
                                                                         user):
    ws = user.socket()
    ws.chat("load it")  # warm: only the queue is a reason
    fake_ollama.script(tokens=[" slow"] * 20, delay=0.05)  # the reply ahead: about 1 s
    fake_ollama.script(tokens=[" mine"], load_delay=2.0)  # Ollama answers it after
    ws.send({"type": "chat", "text": "first", "model": "gemma3:270m"})
    ws.recv_until("chunk")
    other = BrowserClient(user.server).socket()
    frames = other.chat("second")
    said, cleared = waits(frames)
    host = said["host"]
    assert (said["reason"], said["ahead"]) == ("queued", 1) and host
    assert said["message"] == f"waiting for Ollama: 1 reply ahead on {host}"
    assert cleared["clear"] is True  # the one ahead finished: nothing left to wait for
    assert frames.index(cleared) < next(i for i, f in enumerate(frames) if f["type"] == "chunk")
    assert ws.recv_until("done", "error")[-1]["type"] == "done"


def test_no_session_cookie_gets_an_error(live_server):
    from .support.live import ChatSocket
    ws = ChatSocket(live_server.ws_url, "")
    assert ws.recv()["code"] == "no_session"


def test_a_stalled_stream_times_out_with_a_clear_error(make_server, fake_ollama):
    server = make_server(READ_TIMEOUT=0.5)
    user = BrowserClient(server)
    ws = user.socket()
    fake_ollama.script(tokens=[" a", " b", " c"], stall_after=2)
    frames = ws.chat("hello")
    assert frames[-1]["type"] == "error" and "sent nothing for 0.5 s" in frames[-1]["message"]
    assert reply_text(frames) == " a b"
    assert fake_ollama.wait_for_disconnect(2)
    assert user.history()["messages"][1]["content"] == " a b"
    assert ws.chat("next")[-1]["type"] == "done"


def test_a_burst_is_joined_but_a_paced_stream_goes_token_by_token(fake_ollama):
    from webchat.ollama.client import OllamaClient

    client = OllamaClient(fake_ollama.url)
    payload = {"model": "gemma3:270m", "messages": [{"role": "user", "content": "hi"}]}
    fake_ollama.script(tokens=[f" t{i}" for i in range(2000)])  # as fast as it can
    burst = [e for e in client.stream("/api/chat", payload) if e.kind == "content"]
    assert "".join(e.text for e in burst) == "".join(f" t{i}" for i in range(2000))
    assert any(e.more for e in burst)  # lines were waiting: they may share a frame
    fake_ollama.script(tokens=[f" p{i}" for i in range(20)], delay=0.01)  # a model's pace
    paced = [e for e in client.stream("/api/chat", payload) if e.kind == "content"]
    # Mostly token by token; a reader descheduled on a busy machine may find two at once.
    assert len(paced) == 20 and sum(e.more for e in paced) < 5


def test_a_refused_download_says_it_is_about_the_download(fake_ollama, user):
    ws = user.socket()
    ws.send({"type": "pull", "model": "no good!"})
    error = ws.recv()
    assert (error["code"], error["pull"], error["field"]) == ("invalid", True, "model")
