"""Fair unloads compare models as Ollama names them, and where they are loaded: a guest
cannot unload another browser's model by spelling it differently."""

from __future__ import annotations

import pytest

from webchat.ollama.names import canonical

from .support.fake_ollama import FakeOllama
from .support.live import BrowserClient, LiveServer, wait_until
from .support.roles import guest, unload

MODEL = "gemma3:270m"
SPELLINGS = ["GEMMA3:270m", "library/gemma3:270m", "registry.ollama.ai/library/gemma3:270m",
             "Registry.Ollama.AI/Library/Gemma3:270M"]  # a scheme or digest: not a name here

SAME = [("gemma3", "gemma3:latest"), ("gemma3", "library/gemma3:latest"),
        ("gemma3", "registry.ollama.ai/library/gemma3"), ("Gemma3:270M", "gemma3:270m"),
        ("http://registry.ollama.ai/library/gemma3", "GEMMA3"),
        ("example.com:5000/team/m:1", "EXAMPLE.com:5000/Team/M:1"),
        ("team/m", "registry.ollama.ai/team/m:latest")]
DIFFERENT = [("gemma3:270m", "gemma3"), ("team/m", "m"), ("other.example/library/m", "m"),
             ("gemma3:270m", "gemma3:270m-it")]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_spellings_of_one_model_are_one_name(first, second):
    assert canonical(first) == canonical(second)


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_models_stay_different(first, second):
    assert canonical(first) != canonical(second)


def test_a_guest_cannot_unload_anothers_model_by_spelling_it_differently(tmp_path,
                                                                        fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, HOST="0.0.0.0")
    try:
        first, second = guest(server), guest(server)
        first.socket().chat("load it")
        ws = second.socket()
        for name in SPELLINGS:
            refused = unload(second, name)
            assert refused.status_code == 403, (name, refused.text)
            ws.send({"type": "chat", "text": f"/unload {name}", "model": MODEL})
            error = ws.recv()
            assert error["type"] == "error" and error["code"] == "forbidden", (name, error)
        assert fake_ollama.loaded_names() == [MODEL]
        assert unload(first, "GEMMA3:270m").status_code == 200  # its own, any spelling
    finally:
        server.stop()


def test_the_host_counts_too(tmp_path, fake_ollama):
    """Another browser's model on one host does not stop a guest unloading the copy
    only it loaded on another host; it does stop an unload from every host."""
    with FakeOllama() as second_host:
        server = LiveServer(tmp_path / "data", f"a={fake_ollama.url},b={second_host.url}",
                            HOST="0.0.0.0")
        try:
            first, second = guest(server), guest(server)
            first.socket().chat("on a", host="a")
            second.socket().chat("on b", host="b")
            for name, host, status in [("GEMMA3:270m", "a", 403), (MODEL, None, 403),
                                       ("library/gemma3:270m", "b", 200)]:
                body = {"model": name, **({"host": host} if host else {})}
                answer = second.http.post(server.url + "/api/unload", json=body, timeout=5)
                assert answer.status_code == status, (name, host, answer.text)
            assert fake_ollama.loaded_names() == [MODEL]
        finally:
            server.stop()


def test_the_admin_may_unload_any_spelling(tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, HOST="0.0.0.0")
    try:
        guest(server).socket().chat("load it")
        boss = BrowserClient(server, token=server.app.config["ADMIN_TOKEN"])
        assert unload(boss, "library/GEMMA3:270m").status_code == 200
    finally:
        server.stop()


def _decided(server: LiveServer) -> bool:
    """The server's leave has settled its claims: unloaded, or left to someone else."""
    usage = server.services.usage
    return not usage._timers and not usage._models and not usage.loaded_by_us


def test_a_leave_spares_a_model_another_instance_touched_since(tmp_path, fake_ollama):
    """Two app instances on one Ollama: a browser of the first leaves, but a browser of
    the second preloaded the model after the first's last reply (its expiry moved in
    /api/ps), so the first leaves it loaded; with nobody else, the leave unloads."""
    first = LiveServer(tmp_path / "a", fake_ollama.url, UNLOAD_GRACE=0.1)
    second = LiveServer(tmp_path / "b", fake_ollama.url, UNLOAD_GRACE=0.1)
    try:
        alone = BrowserClient(first)
        ws = alone.socket()
        ws.chat("only me")
        ws.close()
        assert wait_until(lambda: _decided(first), 10)
        assert wait_until(lambda: MODEL in fake_ollama.unloads, 5), fake_ollama.unloads
        unloads = len(fake_ollama.unloads)

        mine = BrowserClient(first)
        ws = mine.socket()
        ws.chat("mine first")
        usage = first.services.usage
        assert wait_until(lambda: usage._seen, 5)  # the look after our reply was taken
        theirs = BrowserClient(second)
        loaded = theirs.http.post(second.url + "/api/load", json={"model": MODEL}, timeout=10)
        assert loaded.status_code == 200, loaded.text
        ws.close()
        assert wait_until(lambda: _decided(first), 10)
        assert len(fake_ollama.unloads) == unloads, fake_ollama.unloads
        assert fake_ollama.loaded_names() == [MODEL]
    finally:
        first.stop()
        second.stop()
