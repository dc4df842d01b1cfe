"""Prove the stand-in Ollama answers like the captured real one, timing included."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests

from .support.fake_ollama import CAPTURES, DEFAULT_RELEASE, RELEASES, FakeOllama

CHAT_ERROR_TYPE = "application/json; charset=utf-8"
# A stream cut mid-body surfaces as either, depending on where requests notices.
CUT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)


@pytest.fixture
def fake_ollama(request: pytest.FixtureRequest) -> Iterator[FakeOllama]:
    """Run a fresh stand-in Ollama for each test, as the release it asks for (indirect)."""
    with FakeOllama(release=getattr(request, "param", DEFAULT_RELEASE)) as fake:
        yield fake


def chat(fake: FakeOllama, text: str = "hello there", **extra: object) -> requests.Response:
    body = {"model": "gemma3:270m", "messages": [{"role": "user", "content": text}]}
    return requests.post(f"{fake.url}/api/chat", json=body | extra, stream=True, timeout=5)


def lines_of(response: requests.Response) -> list[dict]:
    return [json.loads(line) for line in response.iter_lines() if line]


def chunks_of(response: requests.Response) -> list[bytes]:
    """Each HTTP chunk as sent, to prove one NDJSON line travels per chunk."""
    return list(response.raw.read_chunked(decode_content=False))


def parse_time(stamp: str) -> datetime:
    whole, _, rest = stamp.rstrip("Z").partition(".")
    micro = (rest + "000000")[:6]
    return datetime.strptime(f"{whole}.{micro}", "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=timezone.utc)


def seconds_ahead(stamp: str) -> float:
    return (parse_time(stamp) - datetime.now(timezone.utc)).total_seconds()


def raw_post(fake: FakeOllama, path: str, body: dict) -> socket.socket:
    """Send a request on a bare socket, so the test controls exactly when it hangs up."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(data), data))
    return sock


def wait_until(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


# -- listing ------------------------------------------------------------------------------

def test_root_and_version(fake_ollama: FakeOllama) -> None:
    root = requests.get(fake_ollama.url, timeout=5)
    assert (root.status_code, root.text) == (200, "Ollama is running")
    assert root.headers["Content-Type"].startswith("text/plain")
    version = requests.get(f"{fake_ollama.url}/api/version", timeout=5)
    assert version.json() == {"version": DEFAULT_RELEASE} == {"version": "0.32.15"}
    assert version.headers["Content-Type"] == CHAT_ERROR_TYPE
    with FakeOllama(release="0.24.0") as older:
        assert requests.get(f"{older.url}/api/version", timeout=5).json() == {
            "version": "0.24.0"}
    with pytest.raises(ValueError, match="release: one of"):
        FakeOllama(release="0.1.0")


def test_tags_lists_the_captured_models_and_a_thinker(fake_ollama: FakeOllama) -> None:
    """As 0.32 lists them (capabilities, trained context); the thinking models last."""
    models = requests.get(f"{fake_ollama.url}/api/tags", timeout=5).json()["models"]
    assert [m["name"] for m in models] == [
        "tiny-assistant:latest", "gemma3:270m", "gemma3-think:270m", "thinker:latest"]
    captured = {m["name"]: m for m in json.loads((CAPTURES / "tags.json").read_text())["models"]}
    assert models[:3] == [captured[m["name"]] for m in models[:3]]
    assert models[2]["capabilities"] == ["completion", "thinking"]
    assert models[3]["capabilities"] == ["completion", "thinking"]
    assert models[3]["details"]["context_length"] == 40960


def test_tags_as_0_24_lists_no_capabilities() -> None:
    with FakeOllama(release="0.24.0") as older:
        models = requests.get(f"{older.url}/api/tags", timeout=5).json()["models"]
    assert [set(m) for m in models] == [
        {"name", "model", "modified_at", "size", "digest", "details"}] * 4
    assert all("context_length" not in m["details"] for m in models)
    assert RELEASES["0.24.0"].tags_capabilities is False


def test_add_and_remove_model(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_model("big", size=7_000_000_000, context_length=8192,
                          capabilities=["completion", "vision"], family="llama")
    models = requests.get(f"{fake_ollama.url}/api/tags", timeout=5).json()["models"]
    assert models[0]["name"] == "big:latest"
    assert models[0]["size"] == 7_000_000_000
    assert models[0]["details"]["family"] == "llama"
    show = requests.post(f"{fake_ollama.url}/api/show", json={"model": "big"}, timeout=5)
    assert show.json()["capabilities"] == ["completion", "vision"]
    fake_ollama.remove_model("big:latest")
    models = requests.get(f"{fake_ollama.url}/api/tags", timeout=5).json()["models"]
    assert "big:latest" not in [m["name"] for m in models]


def test_show_has_the_captured_keys(fake_ollama: FakeOllama) -> None:
    show = requests.post(f"{fake_ollama.url}/api/show", json={"model": "gemma3:270m"},
                         timeout=5).json()
    assert set(show) == {"modelfile", "parameters", "template", "details", "model_info",
                         "tensors", "capabilities", "modified_at"}
    assert show["model_info"]["gemma3.context_length"] == 32768
    assert show["capabilities"] == ["completion"]
    assert show["tensors"] == []


# -- load, unload, /api/ps --------------------------------------------------------------------

def test_ps_lists_a_model_after_chat(fake_ollama: FakeOllama) -> None:
    ps_url = f"{fake_ollama.url}/api/ps"
    assert requests.get(ps_url, timeout=5).json() == {"models": []}
    chat(fake_ollama).close()
    lines_of(chat(fake_ollama))
    (entry,) = requests.get(ps_url, timeout=5).json()["models"]
    captured_keys = {"name", "model", "size", "digest", "details", "expires_at",
                     "size_vram", "context_length"}
    assert set(entry) == captured_keys
    assert (entry["name"], entry["size_vram"], entry["context_length"]) == (
        "gemma3:270m", 0, 4096)
    assert entry["expires_at"].endswith("Z")
    assert 290 < seconds_ahead(entry["expires_at"]) <= 300
    assert fake_ollama.loaded_names() == ["gemma3:270m"]


def test_gpu_fraction_and_num_ctx_show_in_ps(fake_ollama: FakeOllama) -> None:
    fake_ollama.gpu_fraction = 1.0
    lines_of(chat(fake_ollama, options={"num_ctx": 8192}))
    (entry,) = requests.get(f"{fake_ollama.url}/api/ps", timeout=5).json()["models"]
    assert entry["size_vram"] == entry["size"] > 0
    assert entry["context_length"] == 8192


@pytest.mark.parametrize(("keep_alive", "low", "high"), [
    ("10m", 590, 600), (30, 25, 30), ("1h30m", 5390, 5400), ("30s", 25, 30),
])
def test_keep_alive_sets_expiry(fake_ollama: FakeOllama, keep_alive: object, low: float,
                                high: float) -> None:
    lines_of(chat(fake_ollama, keep_alive=keep_alive))
    (entry,) = requests.get(f"{fake_ollama.url}/api/ps", timeout=5).json()["models"]
    assert low < seconds_ahead(entry["expires_at"]) <= high


def test_keep_alive_minus_one_is_centuries_ahead(fake_ollama: FakeOllama) -> None:
    lines_of(chat(fake_ollama, keep_alive=-1))
    (entry,) = requests.get(f"{fake_ollama.url}/api/ps", timeout=5).json()["models"]
    assert entry["expires_at"].startswith("23")


def test_short_keep_alive_expires(fake_ollama: FakeOllama) -> None:
    lines_of(chat(fake_ollama, keep_alive="200ms"))
    assert fake_ollama.loaded_names() == ["gemma3:270m"]
    assert wait_until(lambda: fake_ollama.loaded_names() == [], timeout=1.0)


def test_bad_keep_alive_is_rejected(fake_ollama: FakeOllama) -> None:
    response = chat(fake_ollama, keep_alive="forever")
    assert response.status_code == 400
    assert response.text == '{"error":"time: invalid duration \\"forever\\""}'


@pytest.mark.parametrize("endpoint", ["chat", "generate"])
def test_load_then_unload(fake_ollama: FakeOllama, endpoint: str) -> None:
    url = f"{fake_ollama.url}/api/{endpoint}"
    extra = {"messages": []} if endpoint == "chat" else {}
    loaded = requests.post(url, json={"model": "gemma3:270m"} | extra, timeout=5).json()
    assert (loaded["done"], loaded["done_reason"]) == (True, "load")
    assert fake_ollama.loaded_names() == ["gemma3:270m"]

    unloaded = requests.post(url, json={"model": "gemma3:270m", "keep_alive": 0} | extra,
                             timeout=5).json()
    expected = {"model": "gemma3:270m", "done": True, "done_reason": "unload"}
    expected |= {"message": {"role": "assistant", "content": ""}} if extra else {"response": ""}
    assert {k: v for k, v in unloaded.items() if k != "created_at"} == expected
    (lingering,) = requests.get(f"{fake_ollama.url}/api/ps", timeout=5).json()["models"]
    assert abs(seconds_ahead(lingering["expires_at"])) < 0.5
    assert wait_until(lambda: fake_ollama.loaded_names() == [], timeout=1.0)
    assert fake_ollama.unloads == ["gemma3:270m"]


def test_unloading_a_model_that_is_not_loaded_succeeds(fake_ollama: FakeOllama) -> None:
    response = requests.post(f"{fake_ollama.url}/api/generate",
                             json={"model": "tiny-assistant", "keep_alive": 0}, timeout=5)
    assert response.json()["done_reason"] == "unload"
    assert fake_ollama.unloads == ["tiny-assistant:latest"]


# -- streaming --------------------------------------------------------------------------------

def test_chat_streams_one_line_per_chunk(fake_ollama: FakeOllama) -> None:
    response = chat(fake_ollama, "the quick fox")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Transfer-Encoding"] == "chunked"
    chunks = chunks_of(response)
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in chunks)
    lines = [json.loads(chunk) for chunk in chunks]
    assert [line["message"]["content"] for line in lines[:-1]] == [
        "You", " said", ":", " the", " quick", " fox"]
    assert all(line["done"] is False and line["message"]["role"] == "assistant"
               for line in lines[:-1])
    final = lines[-1]
    assert (final["done"], final["done_reason"], final["eval_count"]) == (True, "stop", 6)
    assert final["message"] == {"role": "assistant", "content": ""}
    for key in ("total_duration", "load_duration", "prompt_eval_count",
                "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0


def test_lines_arrive_as_they_are_generated(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["a", "b", "c", "d"], delay=0.1)
    started = time.monotonic()
    response = chat(fake_ollama)
    arrivals = [time.monotonic() - started for _ in response.iter_lines()]
    assert len(arrivals) == 5
    assert arrivals[0] < 0.25 and arrivals[-1] >= 0.38


def test_generate_streams_response_and_context(fake_ollama: FakeOllama) -> None:
    response = requests.post(f"{fake_ollama.url}/api/generate", timeout=5, stream=True,
                             json={"model": "gemma3:270m", "prompt": "ignored\nsay hi"})
    lines = lines_of(response)
    assert "".join(line["response"] for line in lines) == "You said: say hi"
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["context"] and all(isinstance(i, int) for i in final["context"])
    assert list(final)[:6] == ["model", "created_at", "response", "done", "done_reason",
                               "context"]


def test_stream_false_answers_one_object(fake_ollama: FakeOllama) -> None:
    response = chat(fake_ollama, "one two", stream=False)
    assert response.headers["Content-Type"] == CHAT_ERROR_TYPE
    body = response.json()
    assert body["message"] == {"role": "assistant", "content": "You said: one two"}
    assert body["done"] is True and body["eval_count"] == 5


def test_num_predict_cuts_with_length(fake_ollama: FakeOllama) -> None:
    lines = lines_of(chat(fake_ollama, "a b c d e", options={"num_predict": 4}))
    assert len(lines) == 5
    assert (lines[-1]["done_reason"], lines[-1]["eval_count"]) == ("length", 4)


@pytest.mark.parametrize("fake_ollama", list(RELEASES), indirect=True)
@pytest.mark.parametrize(("think", "thinks"), [(None, True), (True, True), ("low", True),
                                               (False, False)])
def test_a_thinking_model_thinks_unless_told_not_to(fake_ollama: FakeOllama, think: object,
                                                     thinks: bool) -> None:
    """Ollama's rule since 0.12.4 (both releases): `think` left out means think."""
    body = {"model": "gemma3-think:270m", "messages": [{"role": "user", "content": "x"}]}
    if think is not None:
        body["think"] = think
    response = requests.post(f"{fake_ollama.url}/api/chat", json=body, timeout=5)
    thinking = "".join(line["message"].get("thinking", "") for line in lines_of(response))
    assert (thinking == "Let me think.") is thinks and (thinking == "") is not thinks


def test_num_predict_counts_the_thinking_tokens(fake_ollama: FakeOllama) -> None:
    response = requests.post(f"{fake_ollama.url}/api/chat", timeout=5, json={
        "model": "thinker", "messages": [{"role": "user", "content": "x y"}],
        "options": {"num_predict": 5}})
    lines = lines_of(response)
    assert [bool(line["message"].get("thinking")) for line in lines[:-1]] == [True] * 4 + [
        False]
    assert (lines[-1]["eval_count"], lines[-1]["done_reason"]) == (5, "length")


def test_thinking_streams_first(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["Hi"], thinking=["Hmm", "..."])
    response = requests.post(f"{fake_ollama.url}/api/chat", timeout=5, stream=True, json={
        "model": "thinker", "think": True, "messages": [{"role": "user", "content": "x"}]})
    messages = [line["message"] for line in lines_of(response)]
    assert messages[:3] == [
        {"role": "assistant", "content": "", "thinking": "Hmm"},
        {"role": "assistant", "content": "", "thinking": "..."},
        {"role": "assistant", "content": "Hi"},
    ]


def test_load_delay_holds_back_the_headers(fake_ollama: FakeOllama) -> None:
    fake_ollama.load_delay = 0.3
    started = time.monotonic()
    first = chat(fake_ollama)
    assert time.monotonic() - started >= 0.3
    cold = lines_of(first)[-1]["load_duration"]
    started = time.monotonic()
    warm = lines_of(chat(fake_ollama))[-1]["load_duration"]
    assert time.monotonic() - started < 0.25
    assert cold >= 300_000_000 and cold > warm


def test_scripts_apply_once_in_order(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["first"])
    fake_ollama.script(["second"])
    texts = ["".join(line["message"]["content"] for line in lines_of(chat(fake_ollama, "x")))
             for _ in range(3)]
    assert texts == ["first", "second", "You said: x"]


@pytest.mark.parametrize("capture", [
    "chat-stream.ndjson", "chat-stream-200.ndjson", "generate-stream.ndjson"])
def test_replay_sends_the_capture_verbatim(fake_ollama: FakeOllama, capture: str) -> None:
    path = CAPTURES / capture
    if not path.exists():
        pytest.skip(f"{path} not present")
    captured = [json.loads(line) for line in path.read_text().splitlines()]
    fake_ollama.replay(path)
    endpoint = "generate" if capture.startswith("generate") else "chat"
    body = {"model": "gemma3:270m", "prompt": "x", "messages": [{"role": "user",
                                                                  "content": "x"}]}
    response = requests.post(f"{fake_ollama.url}/api/{endpoint}", json=body, stream=True,
                             timeout=5)
    chunks = chunks_of(response)
    assert chunks == path.read_bytes().splitlines(keepends=True)
    lines = [json.loads(chunk) for chunk in chunks]
    key = "response" if endpoint == "generate" else "message"
    text = [line[key] if endpoint == "generate" else line[key]["content"] for line in lines]
    expected = [line[key] if endpoint == "generate" else line[key]["content"]
                for line in captured]
    assert "".join(text) == "".join(expected) and text
    assert lines[-1]["done"] is True


# -- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "status", "expected"), [
    ("POST", "/api/chat", {"model": "nope", "messages": [{"role": "user", "content": "x"}]},
     404, {"error": "model 'nope' not found"}),
    ("POST", "/api/generate", {"model": "nope", "prompt": "x", "stream": False},
     404, {"error": "model 'nope' not found"}),
    ("POST", "/api/show", {"model": "nope"}, 404, {"error": "model 'nope' not found"}),
    ("DELETE", "/api/delete", {"model": "nope"}, 404, {"error": "model 'nope' not found"}),
    ("POST", "/api/chat", {"messages": []}, 400, {"error": "model is required"}),
    ("POST", "/api/chat", None, 400, {"error": "missing request body"}),
    ("POST", "/api/chat", {"model": "gemma3:270m", "options": {"temperature": "hot"},
                           "messages": [{"role": "user", "content": "x"}]},
     500, {"error": 'option "temperature" must be of type float32'}),
    ("POST", "/api/chat", {"model": "gemma3:270m", "options": {"num_ctx": "big"},
                           "messages": [{"role": "user", "content": "x"}]},
     500, {"error": 'option "num_ctx" must be of type integer'}),
    ("POST", "/api/chat", {"model": "gemma3:270m", "options": {"stop": [1]},
                           "messages": [{"role": "user", "content": "x"}]},
     500, {"error": 'option "stop" must be of an array of strings'}),
    ("POST", "/api/chat", {"model": "gemma3:270m", "think": True,
                           "messages": [{"role": "user", "content": "x"}]},
     400, {"error": '"gemma3:270m" does not support thinking'}),
    ("POST", "/api/chat", {"model": "gemma3:270m", "think": "low",
                           "messages": [{"role": "user", "content": "x"}]},
     400, {"error": '"gemma3:270m" does not support thinking'}),
    ("POST", "/api/chat", {"model": "thinker", "think": "extreme",
                           "messages": [{"role": "user", "content": "x"}]},
     400, {"error": 'invalid think value: "extreme" (must be "high", "medium", "low", "max", '
                    'true, or false)'}),
    ("POST", "/api/chat", {"model": "thinker", "think": 3,
                           "messages": [{"role": "user", "content": "x"}]},
     400, {"error": 'think must be a boolean or string ("high", "medium", "low", "max", '
                    'true, or false)'}),
])
def test_errors_match_ollama(fake_ollama: FakeOllama, method: str, path: str,
                             body: dict | None, status: int, expected: dict) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    response = requests.request(method, fake_ollama.url + path, data=data, timeout=5)
    assert response.status_code == status
    assert response.headers["Content-Type"] == CHAT_ERROR_TYPE
    assert response.json() == expected


def test_unknown_options_are_ignored(fake_ollama: FakeOllama) -> None:
    response = chat(fake_ollama, options={"temprature": "hot"})
    assert response.status_code == 200 and lines_of(response)[-1]["done"] is True


def test_error_after_sends_an_error_line(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["a", "b", "c"], error_after=2, error_message="boom")
    lines = lines_of(chat(fake_ollama))
    assert [line.get("message", {}).get("content") for line in lines[:2]] == ["a", "b"]
    assert lines[2:] == [{"error": "boom"}]


def test_no_done_and_garbage(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["a", "b"], no_done=True, garbage_after=1)
    raw = [line for line in chat(fake_ollama).iter_lines() if line]
    assert raw[1] == b"this is not json"
    assert [json.loads(raw[0])["message"]["content"], json.loads(raw[2])["done"]] == [
        "a", False]
    assert len(raw) == 3


# -- hang-ups and outages ---------------------------------------------------------------------

def test_hang_up_while_loading_is_seen_at_once(fake_ollama: FakeOllama) -> None:
    fake_ollama.load_delay = 5.0
    sock = raw_post(fake_ollama, "/api/chat", {
        "model": "gemma3:270m", "messages": [{"role": "user", "content": "x"}]})
    assert wait_until(lambda: fake_ollama.active_streams == 1)
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(1)  # nothing at all is sent while the model loads
    started = time.monotonic()
    sock.close()
    assert fake_ollama.wait_for_disconnect(timeout=1.0)
    assert time.monotonic() - started < 0.5
    assert wait_until(lambda: fake_ollama.active_streams == 0)
    assert fake_ollama.disconnects == 1
    assert fake_ollama.loaded_names() == []


def test_hang_up_during_a_stall_is_counted(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["a", "b", "c"], stall_after=2)
    response = chat(fake_ollama)
    lines = response.iter_lines()
    assert [json.loads(next(lines))["message"]["content"] for _ in range(2)] == ["a", "b"]
    assert fake_ollama.disconnects == 0
    response.close()
    assert fake_ollama.wait_for_disconnect(timeout=1.0)
    assert wait_until(lambda: fake_ollama.active_streams == 0)


def test_break_after_cuts_the_stream(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(["a", "b", "c"], break_after=1)
    response = chat(fake_ollama)
    lines = response.iter_lines()
    assert json.loads(next(lines))["message"]["content"] == "a"
    with pytest.raises(CUT):
        list(lines)


def test_stop_cuts_stalled_streams_and_port_can_be_reused() -> None:
    fake = FakeOllama().start()
    port = fake.port
    fake.script(["a", "b"], stall_after=1)
    response = chat(fake)
    lines = response.iter_lines()
    assert json.loads(next(lines))["message"]["content"] == "a"
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(CUT):
        list(lines)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(fake.url, timeout=2)
    assert fake.disconnects == 0
    with FakeOllama(port=port) as again:
        assert again.url == fake.url
        assert requests.get(again.url, timeout=5).text == "Ollama is running"


# -- pull, delete, bookkeeping ----------------------------------------------------------------

def test_pull_reports_progress_then_installs(fake_ollama: FakeOllama) -> None:
    response = requests.post(f"{fake_ollama.url}/api/pull", json={"model": "smollm2:135m"},
                             stream=True, timeout=5)
    assert response.headers["Transfer-Encoding"] == "chunked"
    lines = lines_of(response)
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    progress = [line for line in lines if "digest" in line]
    assert len({line["digest"] for line in progress}) == 2
    for digest in {line["digest"] for line in progress}:
        completed = [line["completed"] for line in progress if line["digest"] == digest]
        assert completed == sorted(completed) and completed[-1] == progress[
            [line["digest"] for line in progress].index(digest)]["total"]
    names = [m["name"] for m in requests.get(f"{fake_ollama.url}/api/tags",
                                             timeout=5).json()["models"]]
    assert "smollm2:135m" in names


def test_pull_from_an_unreachable_registry(fake_ollama: FakeOllama) -> None:
    response = requests.post(f"{fake_ollama.url}/api/pull", stream=True, timeout=5,
                             json={"model": "unreachable/model:135m"})
    assert response.status_code == 200
    first, second = lines_of(response)
    assert first == {"status": "pulling manifest"}
    assert second["error"].startswith("pull model manifest: Get ")
    assert second["error"].endswith("no such host")
    assert fake_ollama._find("unreachable/model:135m") is None


def test_delete_removes_the_model(fake_ollama: FakeOllama) -> None:
    response = requests.delete(f"{fake_ollama.url}/api/delete",
                               json={"model": "gemma3:270m"}, timeout=5)
    assert (response.status_code, response.content) == (200, b"")
    names = [m["name"] for m in requests.get(f"{fake_ollama.url}/api/tags",
                                             timeout=5).json()["models"]]
    assert "gemma3:270m" not in names


def test_requests_are_recorded(fake_ollama: FakeOllama) -> None:
    requests.get(f"{fake_ollama.url}/api/tags", timeout=5)
    lines_of(chat(fake_ollama, "remember me"))
    assert fake_ollama.requests[0] == ("GET", "/api/tags", None)
    assert fake_ollama.requests[1][:2] == ("POST", "/api/chat")
    assert fake_ollama.last_payload("/api/chat")["messages"][-1]["content"] == "remember me"
    assert fake_ollama.last_payload("/api/generate") is None
