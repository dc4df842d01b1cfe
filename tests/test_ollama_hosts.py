"""Several Ollama hosts behind one page: config, merged lists, routing, faults.

Two stand-ins on loopback with different model sets: `gpu` (the stand-in's defaults,
gemma3:270m and tiny-assistant among them) is preferred, `nas` has gemma3:270m and a
model of its own, and no tiny-assistant.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from webchat.ollama.hosts import HostsConfigError, parse_hosts

from .support.fake_ollama import FakeOllama
from .support.live import ROOT, BrowserClient, LiveServer, reply_text, wait_until

MODEL = "gemma3:270m"


@pytest.mark.parametrize("value, hosts", [
    ("http://127.0.0.1:11434", [("127.0.0.1", "http://127.0.0.1:11434")]),
    ("gpu=http://10.0.0.5:11434, nas=http://nas:11434/",
     [("gpu", "http://10.0.0.5:11434"), ("nas", "http://nas:11434")]),
    ("http://a:1,http://a:2", [("a:1", "http://a:1"), ("a:2", "http://a:2")]),
    ("box=nas:11500", [("box", "http://nas:11500")]),
])
def test_hosts_setting_is_parsed_in_order(value, hosts):
    assert parse_hosts(value) == hosts


@pytest.mark.parametrize("value, says", [
    ("", "empty"),
    ("http://a:1,,http://b:1", "empty entry"),
    ("ftp://a:1", "not an http"),
    ("http://a:99999", "invalid port"),
    ("gpu=http://a:1,gpu=http://b:1", "used twice"),
    ("http://a:1,http://a:1", "listed twice"),
    ("bad label=http://a:1", "label"),
    ("http://a:1/?x=1", "plain server URL"),
])
def test_a_malformed_hosts_setting_says_why(value, says):
    with pytest.raises(HostsConfigError, match=says):
        parse_hosts(value)


def test_run_py_refuses_a_malformed_url_at_once(tmp_path):
    done = subprocess.run(
        [sys.executable, "run.py", "--port", "0", "--data-dir", str(tmp_path),
         "--ollama-url", "gpu=http://127.0.0.1:1,nas=htp:/nowhere"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Cannot start" in done.stderr and "htp:/nowhere" in done.stderr


# -- two stand-ins ------------------------------------------------------------------------


@pytest.fixture
def gpu() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    yield fake
    fake.stop()


@pytest.fixture
def nas() -> Iterator[FakeOllama]:
    fake = FakeOllama()
    fake.remove_model("tiny-assistant:latest")
    fake.add_model("nasonly:1b")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def two(gpu, nas, make_server) -> LiveServer:
    server = make_server(ollama_url=f"gpu={gpu.url},nas={nas.url}")
    return server


@pytest.fixture
def browser(two) -> Iterator[BrowserClient]:
    client = BrowserClient(two)
    yield client
    client.close()


def _get(browser: BrowserClient, path: str) -> dict:
    response = browser.http.get(browser.server.url + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_models_are_merged_once_per_host(browser, gpu, nas):
    body = _get(browser, "/api/models")
    pairs = {(m["name"], m["host"]) for m in body["models"]}
    assert {(MODEL, "gpu"), (MODEL, "nas"), ("tiny-assistant:latest", "gpu"),
            ("nasonly:1b", "nas")} <= pairs
    assert ("tiny-assistant:latest", "nas") not in pairs
    assert [h["label"] for h in body["hosts"]] == ["gpu", "nas"]
    assert all(h["up"] for h in body["hosts"])


def test_a_model_on_one_host_is_listed_once_and_says_where(browser, gpu, nas):
    """The picker offers "any host" and "on <host>": a model only one host has must not
    be offered both ways (it was listed twice, the two meaning the same)."""
    nas.add_model("Gemma3:270M")  # another spelling of a model gpu has: still the same
    models = _get(browser, "/api/models")["models"]
    pairs = [(m["name"], m["host"]) for m in models]
    assert pairs.count(("nasonly:1b", "nas")) == 1 and len(pairs) == len(set(pairs))
    on_hosts = {(m["name"], m["host"]): m["on_hosts"] for m in models}
    assert on_hosts[("nasonly:1b", "nas")] == ["nas"]
    assert on_hosts[("tiny-assistant:latest", "gpu")] == ["gpu"]
    assert on_hosts[(MODEL, "gpu")] == on_hosts[(MODEL, "nas")] == ["gpu", "nas"]
    assert on_hosts[("Gemma3:270M", "nas")] == ["gpu", "nas"]
    choices = {m["name"] for m in models if len(m["on_hosts"]) > 1}
    assert "nasonly:1b" not in choices and MODEL in choices


def test_chats_go_by_model_residency_and_pin(browser, gpu, nas):
    ws = browser.socket()
    frames = ws.chat("hello")  # installed on both, loaded nowhere: the first in order
    assert frames[0]["host"] == "gpu" and frames[-1]["stats"]["host"] == "gpu"
    assert gpu.loaded_names() == [MODEL] and nas.loaded_names() == []
    assert ws.chat("only there", model="nasonly:1b")[-1]["stats"]["host"] == "nas"
    # Pinned to nas although it is loaded on gpu.
    assert ws.chat("pinned", host="nas")[-1]["stats"]["host"] == "nas"
    # Loaded on both now; the conversation stays where its last turn was answered.
    assert ws.chat("again")[-1]["stats"]["host"] == "nas"
    gpu_loaded = _get(browser, "/api/loaded")["models"]
    assert {(m["name"], m["host"]) for m in gpu_loaded} == {
        (MODEL, "gpu"), (MODEL, "nas"), ("nasonly:1b", "nas")}
    # The prompt inspector's stats say who answered.
    history = browser.history()
    assert history["messages"][-1]["stats"]["host"] == "nas"
    error = ws.chat("nowhere", host="mars")[-1]
    assert error["type"] == "error" and "mars" in error["message"]


def test_unload_on_one_host_leaves_the_other(browser, gpu, nas):
    ws = browser.socket()
    ws.chat("on gpu")
    ws.chat("on nas", host="nas")
    assert gpu.loaded_names() == [MODEL] and nas.loaded_names() == [MODEL]
    url = browser.server.url + "/api/unload"
    body = browser.http.post(url, json={"model": MODEL, "host": "nas"}, timeout=10).json()
    assert body["host"] == "nas" and body["gone"] is True
    assert gpu.loaded_names() == [MODEL] and nas.loaded_names() == []
    body = browser.http.post(url, json={"model": MODEL}, timeout=10).json()  # where loaded
    assert body["host"] == "gpu" and gpu.loaded_names() == []
    bad = browser.http.post(url, json={"model": MODEL, "host": "mars"}, timeout=10)
    assert bad.status_code == 400 and "mars" in bad.json()["error"]


def test_hosts_endpoint_says_who_is_up(browser, gpu, nas):
    browser.socket().chat("load it")
    hosts = _get(browser, "/api/hosts")["hosts"]
    assert [(h["label"], h["url"], h["up"]) for h in hosts] == [
        ("gpu", gpu.url, True), ("nas", nas.url, True)]
    assert hosts[0]["version"] and hosts[0]["loaded_count"] == 1
    assert hosts[0]["loaded_bytes"] > 0 and hosts[1]["loaded_count"] == 0
    nas.stop()
    hosts = _get(browser, "/api/hosts")["hosts"]
    assert hosts[1]["up"] is False and nas.url in hosts[1]["error"]
    assert hosts[1]["version"] is None and hosts[0]["up"] is True


def test_a_host_dying_mid_reply_then_coming_back(browser, gpu, nas):
    ws = browser.socket()
    gpu.script(tokens=[f" w{i}" for i in range(200)], delay=0.01)
    ws.send({"type": "chat", "text": "long", "model": MODEL})
    frames = ws.recv_until("chunk")
    gpu.stop()
    frames += ws.recv_until("done", "error")
    error = frames[-1]
    assert error["type"] == "error" and "gpu" in error["message"] and error["partial"]
    kept = browser.history()["messages"][-1]
    assert kept["content"] and kept["content"] == reply_text(frames)
    # The next message goes to the other host that has the model.
    assert ws.chat("next")[-1]["stats"]["host"] == "nas"
    body = _get(browser, "/api/models")
    assert [h["up"] for h in body["hosts"]] == [False, True]
    assert {m["host"] for m in body["models"]} == {"nas"}
    # Back on the same port: used again, without a restart.
    gpu.start()
    assert wait_until(lambda: _get(browser, "/api/hosts")["hosts"][0]["up"], timeout=10)
    assert ws.chat("pinned back", host="gpu")[-1]["stats"]["host"] == "gpu"


def test_a_host_that_never_answers_does_not_hold_up_the_page(make_server, gpu):
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # accepts connections (the kernel does), never answers
    port = hole.getsockname()[1]
    server = make_server(ollama_url=f"hole=http://127.0.0.1:{port},gpu={gpu.url}",
                         CONNECT_TIMEOUT=0.5)
    try:
        browser = BrowserClient(server)
        started = time.monotonic()
        body = _get(browser, "/api/models")
        assert time.monotonic() - started < 3  # the connect timeout, not the read timeout
        assert {m["host"] for m in body["models"]} == {"gpu"}
        assert body["hosts"][0]["up"] is False and "did not answer" in body["hosts"][0]["error"]
        started = time.monotonic()  # known slow now: not waited for again
        assert _get(browser, "/api/loaded")["hosts"][0]["up"] is False
        assert time.monotonic() - started < 0.4
        ws = browser.socket()
        assert ws.chat("hi")[-1]["stats"]["host"] == "gpu"
        browser.close()
    finally:
        server.stop()
        hole.close()
