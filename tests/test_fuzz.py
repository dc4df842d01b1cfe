"""Random frames and JSON at `/ws` and the endpoints: never a 500, never a dead server,
and what was stored before stays intact."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support.fake_ollama import FakeOllama
from .support.live import BrowserClient, LiveServer, wait_until

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
frame_types = st.sampled_from(["chat", "stop", "clear", "system", "retry", "", "CHAT", "x"])
models = st.sampled_from(["gemma3:270m", "nope", "", "../x", "a" * 300, "http://h/x"]) | \
    st.text(max_size=20)
frames = st.one_of(
    st.fixed_dictionaries({"type": frame_types}, optional={
        "text": st.text(max_size=200) | json_values, "model": models | json_values,
        "options": json_values | st.dictionaries(
            st.sampled_from(["temperature", "top_k", "stop", "seed", "num_ctx", "bogus"]),
            json_values, max_size=3),
        "keep_alive": json_values, "endpoint": json_values, "think": json_values,
        "id": json_values}),
    json_values,
).map(json.dumps) | st.text(max_size=100) | st.binary(max_size=50)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    with FakeOllama() as fake:
        server = LiveServer(tmp_path_factory.mktemp("fuzz"), fake.url,
                            MESSAGES_PER_MINUTE=100000, MAX_HISTORY=4)
        try:
            keeper = BrowserClient(server)  # a bystander whose history must survive
            keeper.socket().chat("keep this safe")
            yield server, keeper, keeper.history()["messages"]
        finally:
            server.stop()


def _settle(user: BrowserClient) -> None:
    assert wait_until(lambda: not user.history()["generating"], timeout=10)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(frames, min_size=1, max_size=4))
def test_random_frames_never_break_the_socket(fuzz_target, batch):
    server, keeper, kept = fuzz_target
    user = BrowserClient(server)
    ws = user.socket()
    for frame in batch:
        ws.ws.send(frame)
    ws.send({"type": "marker"})  # answered with an error once all before it were handled
    while True:
        reply = ws.recv(timeout=10)
        if reply.get("type") == "error" and "'marker'" in reply.get("message", ""):
            break
        assert reply["type"] in {"start", "chunk", "thinking", "done", "error", "cleared",
                                 "system_set", "info"}
        if reply["type"] == "error":
            assert reply["code"] != "internal", reply
    _settle(user)
    ws.close()
    assert keeper.history()["messages"] == kept


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, raw=st.binary(max_size=60), query=st.text(max_size=30))
def test_random_json_at_the_endpoints_is_never_a_500(fuzz_target, body, raw, query):
    server, keeper, kept = fuzz_target
    http = keeper.http
    for response in (
        http.post(server.url + "/api/unload", json=body, timeout=10),
        http.post(server.url + "/api/unload", data=raw,
                  headers={"Content-Type": "application/json"}, timeout=10),
        http.get(server.url + "/api/history", params={"q": query}, timeout=10),
        http.get(server.url + "/api/loaded", timeout=10),
    ):
        assert response.status_code < 500, response.text
        assert isinstance(response.json(), dict)
    assert requests.get(server.url + "/", timeout=5).status_code == 200
    assert keeper.history()["messages"] == kept


# The edges found when the app was attacked: ids past SQLite's range and digits that are
# not ASCII, unpaired surrogates, deep nesting, numbers JSON has no word for.
any_text = st.text(st.characters(categories=["Cs", "Ll", "Nd", "So", "Zs"]), max_size=20)
ids = st.integers(-2**70, 2**70).map(str) | st.text("0123456789٣１", min_size=1, max_size=25)
raw_json = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=True)),
    any_text.map(lambda t: json.dumps({"title": t, "system": t})),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "[" * 5000]).map(
        lambda bad: '{"format": "ollama-webchat/1", "title": "t", "messages": [{"role": '
                    f'"user", "content": "x", "created_at": {bad}}}]}}'),
    st.integers(1, 4000).map(lambda depth: "[" * depth + "]" * depth),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cid=ids, body=raw_json, text=any_text)
def test_edges_are_never_a_500_and_history_stays_json(fuzz_target, cid, body, text):
    server, keeper, kept = fuzz_target
    user = BrowserClient(server)
    http = user.http
    bodies = {"data": body.encode("utf-8", "surrogatepass"),
              "headers": {"Content-Type": "application/json"}, "timeout": 10}
    for response in (
        http.get(f"{server.url}/api/conversations/{cid}", timeout=10),
        http.get(f"{server.url}/api/conversations/{cid}/messages/{cid}", timeout=10),
        http.get(f"{server.url}/api/history", params={"conversation": cid}, timeout=10),
        http.post(server.url + "/api/conversations/import", **bodies),
        http.post(server.url + "/api/conversations", **bodies),
        http.patch(f"{server.url}/api/conversations/{cid}", **bodies),
    ):
        assert response.status_code < 500, response.text
        assert isinstance(response.json(), dict)
    ws = user.socket()
    ws.ws.send(json.dumps({"type": "system", "text": text}))
    assert ws.recv().get("code") != "internal"
    user.close()
    listed = http.get(server.url + "/api/conversations", timeout=10).text
    json.loads(listed, parse_constant=lambda name: pytest.fail(f"{name} in a listing"))
    assert keeper.history()["messages"] == kept
