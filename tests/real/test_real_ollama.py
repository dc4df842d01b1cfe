"""The app against a real Ollama (0.32.15 in every run): what a browser sees over /ws and HTTP.

Run by scripts/test.sh, which starts ../shared/real-ollama (or set WEBCHAT_TEST_OLLAMA_URL).
The model is a 270M base model: its text is poor by design, so nothing here checks wording,
only behaviour — frames, statuses, stats, and what reached the model's prompt.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

import webchat.ws.fields

from ..support.live import BrowserClient, ChatSocket, LiveServer, reply_text
from ..support.real import (
    GEMMA,
    REPLY_TIMEOUT,
    TINY,
    load,
    needs_real_ollama,
    ollama,
    unload_namesakes,
)

pytestmark = needs_real_ollama

STAT_KEYS = {"done_reason", "total_duration", "load_duration", "prompt_eval_count",
             "prompt_eval_duration", "eval_count", "eval_duration", "tokens_per_second",
             "model", "endpoint", "elapsed_ms", "first_token_ms"}


def say(ws: ChatSocket, text: str, model: str = GEMMA, num_predict: int = 8,
        **fields: Any) -> list[dict[str, Any]]:
    """Send a message with a small num_predict; return its frames up to done/error."""
    options = {"num_predict": num_predict, **fields.pop("options", {})}
    ws.send({"type": "chat", "text": text, "model": model, "options": options, **fields})
    return ws.recv_until("done", "error", timeout=REPLY_TIMEOUT)


def done_stats(frames: list[dict[str, Any]]) -> dict[str, Any]:
    assert frames[-1]["type"] == "done", frames[-1]
    return frames[-1]["stats"]


def test_models_show_and_loaded_shapes(real_app: LiveServer) -> None:
    user = BrowserClient(real_app)
    models = {m["name"]: m for m in user.http.get(real_app.url + "/api/models").json()["models"]}
    assert {GEMMA, TINY} <= set(models)
    assert models[GEMMA]["details"]["family"] == "gemma3"
    assert models[GEMMA]["details"]["quantization_level"] == "Q4_K_M"

    show = user.http.get(real_app.url + "/api/show", params={"model": GEMMA}).json()
    assert show["family"] == "gemma3" and show["parameter_size"] == "268.10M"
    assert show["context_length"] == 32768  # model_info's gemma3.context_length
    assert "completion" in show["capabilities"]

    load(GEMMA)
    raw = {m["name"]: m for m in ollama("GET", "/api/ps").json()["models"]}[GEMMA]
    assert raw["size_vram"] == 0 and raw["size"] > 0  # CPU only
    assert raw["context_length"] == 4096  # Ollama's default num_ctx with no VRAM
    loaded = {m["name"]: m for m in user.http.get(real_app.url + "/api/loaded").json()["models"]}
    mine = loaded[GEMMA]
    assert (mine["size_vram"], mine["vram_mb"], mine["processor"]) == (0, 0, "100% CPU")
    assert mine["context_length"] == 4096 and mine["expires_never"] is False
    expires = datetime.fromisoformat(mine["expires_at"].replace("Z", "+00:00"))
    assert expires > datetime.now(timezone.utc)


def test_streamed_chat_and_flattened_generate_with_their_stats(real_app: LiveServer) -> None:
    user = BrowserClient(real_app)
    ws = user.socket()
    for endpoint in ("chat", "generate"):
        frames = say(ws, "Say hello.", endpoint=endpoint)
        assert frames[0]["type"] == "start"
        # (a busy machine may make Ollama silent long enough for the app's notice; a
        # model that must load first is said with `wait` frames)
        assert {f["type"] for f in frames[1:-1]} - {"notice", "wait"} == {"chunk"}
        stats = done_stats(frames)
        assert STAT_KEYS <= set(stats), stats
        assert 0 < stats["eval_count"] <= 8 and stats["prompt_eval_count"] > 0
        assert stats["done_reason"] in ("stop", "length") and stats["tokens_per_second"] > 0
        assert (stats["model"], stats["endpoint"]) == (GEMMA, endpoint)
        history = user.history()
        reply = history["messages"][-1]
        assert (reply["role"], reply["status"]) == ("assistant", "ok")
        assert reply["content"] == reply_text(frames)
    request = user.stored_request(history, -1)
    assert request["prompt"].endswith("User: Say hello.\nAssistant:")  # the seed's flattening


def test_ollama_errors_reach_the_user_as_clear_error_frames(real_app: LiveServer,
                                                            monkeypatch) -> None:
    user = BrowserClient(real_app)
    ws = user.socket()
    frames = say(ws, "hi", model="no-such-model:1b")
    assert frames[-1]["code"] == "ollama"
    assert frames[-1]["message"] == "model 'no-such-model:1b' not found"
    response = user.http.get(real_app.url + "/api/show", params={"model": "no-such-model:1b"})
    assert response.status_code == 404 and "not found" in response.json()["error"]

    # A duration past Go's longest is refused by the app itself, naming the field...
    frames = say(ws, "hi", keep_alive="99999999999h")
    assert (frames[-1]["code"], frames[-1]["field"]) == ("invalid", "keep_alive")
    assert "longer than Go's longest duration" in frames[-1]["message"]
    # ...because that is what Ollama would refuse with its 400, which still reaches the
    # user should one slip past.
    monkeypatch.setattr(webchat.ws.fields, "validate_keep_alive", lambda value: value)
    frames = say(ws, "hi", keep_alive="99999999999h")
    assert frames[-1]["code"] == "ollama"
    assert 'time: invalid duration "99999999999h"' in frames[-1]["message"]
    monkeypatch.undo()

    # A bad option type is refused by the app itself (naming the field) before Ollama...
    frames = say(ws, "hi", options={"temperature": "hot"})
    assert (frames[-1]["code"], frames[-1]["field"]) == ("invalid", "options.temperature")
    # ...and should one slip past, Ollama's own 500 reaches the user just as clearly.
    monkeypatch.setattr(webchat.ws.fields, "validate_options", lambda options: options)
    frames = say(ws, "hi", options={"temperature": "hot"})
    assert frames[-1]["code"] == "ollama"
    assert 'option "temperature" must be of type float32' in frames[-1]["message"]
    assert [m["status"] for m in user.history()["messages"]][-2:] == ["failed", "failed"]


def test_a_pull_fails_with_ollamas_own_error(real_app: LiveServer) -> None:
    ws = BrowserClient(real_app).socket()
    ws.send({"type": "watch"})
    ws.send({"type": "pull", "model": "smollm:135m"})  # no network here
    done = ws.recv_until("pull_done", timeout=60)[-1]
    assert done["ok"] is False and done["model"] == "smollm:135m"
    assert "pull model manifest" in done["error"] and "registry.ollama.ai" in done["error"]


def test_load_with_an_empty_request_and_two_models_at_once(real_app: LiveServer) -> None:
    user = BrowserClient(real_app)
    unload_namesakes(GEMMA)
    for model in (GEMMA, TINY):  # the page's load on pick: Ollama's load without a prompt
        answer = user.http.post(real_app.url + "/api/load", json={"model": model}).json()
        assert (answer["model"], answer["loaded"]) == (model, True) and answer["load_ms"] >= 0
    missing = user.http.post(real_app.url + "/api/load", json={"model": "no-such-model:1b"})
    assert missing.status_code == 404 and "not found" in missing.json()["error"]
    raw = {m["name"]: m for m in ollama("GET", "/api/ps").json()["models"]}
    assert raw[GEMMA]["digest"] != raw[TINY]["digest"]  # two blobs, two runners
    loaded = {m["name"]: m for m in user.http.get(real_app.url + "/api/loaded").json()["models"]}
    assert (loaded[GEMMA]["context_length"], loaded[TINY]["context_length"]) == (4096, 2048)
    ws = user.socket()
    plain = done_stats(say(ws, "Hello there", num_predict=2))
    ws.send({"type": "clear"})
    assert ws.recv()["type"] == "cleared"
    # tiny-assistant's Modelfile SYSTEM prompt reaches its prompt: more tokens in.
    tiny = done_stats(say(ws, "Hello there", model=TINY, num_predict=2))
    assert tiny["prompt_eval_count"] > plain["prompt_eval_count"] + 5


def test_the_system_prompt_reaches_gemmas_prompt(real_app: LiveServer) -> None:
    """Gemma 3's template folds the system prompt into the first user turn (it would drop
    it if an assistant message came first); a conversation that fits the window keeps it."""
    user = BrowserClient(real_app)
    ws = user.socket()
    without = done_stats(say(ws, "Hello there", num_predict=2))
    system = "You are a helpful pirate. Answer every question briefly, in pirate speech."
    created = user.http.post(real_app.url + "/api/conversations", json={"system": system})
    conversation = created.json()["id"]
    with_it = done_stats(say(ws, "Hello there", num_predict=2, conversation=conversation))
    assert with_it["prompt_eval_count"] >= without["prompt_eval_count"] + 10
    again = done_stats(say(ws, "And then?", num_predict=2, conversation=conversation))
    sent = user.stored_request(user.history(conversation), -1)["messages"]
    assert sent[0] == {"role": "system", "content": system} and sent[1]["role"] == "user"
    assert again["prompt_eval_count"] > with_it["prompt_eval_count"]


def test_a_kept_prefix_uses_ollamas_prompt_cache(real_app: LiveServer) -> None:
    """The second turn re-sends the first as its prefix: Ollama reuses its cache, so the
    prompt is evaluated faster although longer (both releases still count every prompt token).

    The only timing-based check here: on a busy machine one pair can be swamped by another
    process taking the cores, so up to three fresh pairs are tried. Without the cache every
    pair reads more tokens the second time and none could pass."""
    pairs = []
    for _ in range(3):
        ws = BrowserClient(real_app).socket()
        words = " ".join(f"{uuid.uuid4().hex[:6]}" for _ in range(60))  # nothing cached yet
        first = done_stats(say(ws, "Remember these words: " + words, num_predict=2))
        second = done_stats(say(ws, "Which was the first word?", num_predict=2))
        assert second["prompt_eval_count"] > first["prompt_eval_count"]
        pairs.append((first["prompt_eval_duration"], second["prompt_eval_duration"]))
        if second["prompt_eval_duration"] * 2 < first["prompt_eval_duration"]:
            return
    raise AssertionError(f"no pair showed the cache (first, second ns): {pairs}")


THINKER = "gemma3-think:270m"  # lists `thinking`; its template makes it reason first


@pytest.mark.parametrize(("think", "thinks"), [(None, True), (True, True), (False, False)],
                         ids=["absent", "on", "off"])
def test_ollama_thinks_unless_told_not_to(think: bool | None, thinks: bool) -> None:
    """Straight to Ollama: the rule the stand-in models (tests/fake_ollama.py _thinks),
    and why the app must send false. Left out, a thinking model thinks."""
    body: dict[str, Any] = {"model": THINKER, "stream": False, "options": {"num_predict": 4},
                            "messages": [{"role": "user", "content": "Say hello."}]}
    if think is not None:
        body["think"] = think
    answer = ollama("POST", "/api/chat", body)
    assert answer.status_code == 200, answer.text
    assert bool(answer.json()["message"].get("thinking")) is thinks


@pytest.mark.parametrize(("think", "sent", "thinks"),
                         [(None, False, False), (True, True, True), (False, False, False)],
                         ids=["absent", "on", "off"])
def test_think_through_the_app_means_what_it_says(real_app: LiveServer, think: bool | None,
                                                 sent: bool, thinks: bool) -> None:
    """Over /ws: off, and a frame that says nothing, reach Ollama as "think": false, so
    the model does not think; on streams its reasoning as `thinking` frames."""
    user = BrowserClient(real_app)
    frames = say(user.socket(), "Say hello.", model=THINKER, num_predict=4,
                 **({} if think is None else {"think": think}))
    done_stats(frames)
    assert any(f["type"] == "thinking" for f in frames) is thinks
    history = user.history()
    assert user.stored_request(history, -1)["think"] is sent  # the inspector's JSON
    assert bool(history["messages"][-1]["thinking"]) is thinks
