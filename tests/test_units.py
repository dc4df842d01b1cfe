"""Pure pieces: settings, validation, formatting, NDJSON parsing, prompts."""

from __future__ import annotations

import socket

import pytest

from webchat.models.loaded import describe_loaded, processor_split
from webchat.ollama.address import ollama_url_from_host
from webchat.ollama.client import OllamaClient
from webchat.ollama.errors import OllamaUnreachable, StreamFailed
from webchat.ollama.modelinfo import is_cloud, think_levels, think_to_send
from webchat.ollama.stream import iter_ndjson, reply_stats
from webchat.pages import module_graph
from webchat.relay.payload import build_payload, flatten_prompt
from webchat.store.history import Message
from webchat.validation import (
    InvalidInput,
    validate_keep_alive,
    validate_model_name,
    validate_options,
)


@pytest.mark.parametrize("value, url", [
    (None, "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:9999", "http://127.0.0.1:9999"),
    ("example.lan", "http://example.lan:11434"),
    ("example.lan:8080", "http://example.lan:8080"),
    ("https://ollama.example.com", "https://ollama.example.com:443"),
    ("http://10.0.0.5:11434/", "http://10.0.0.5:11434"),
    ("[::1]:11435", "http://[::1]:11435"),
    ("::", "http://[::1]:11434"),
    ('"localhost:1234"', "http://localhost:1234"),
])
def test_ollama_host_is_read_like_ollama(value, url):
    assert ollama_url_from_host(value) == url


@pytest.mark.parametrize("name", ["gemma3:270m", "llama3.2", "hf.co/org/model:Q4_K_M",
                                  "library/qwen3.5:9b"])
def test_valid_model_names(name):
    assert validate_model_name(name) == name


@pytest.mark.parametrize("name", ["", None, 3, "../x", "a/../b", "http://evil/x", "a b",
                                  "/abs", "x" * 300, "a?b", "a#b"])
def test_invalid_model_names(name):
    with pytest.raises(InvalidInput):
        validate_model_name(name)


def test_options_are_checked_and_named():
    assert validate_options({"temperature": 1, "top_k": 40.0, "stop": "END", "seed": None}) \
        == {"temperature": 1.0, "top_k": 40, "stop": ["END"]}
    for bad, field in [({"temperature": -1}, "temperature"), ({"top_k": 1.5}, "top_k"),
                       ({"num_ctx": True}, "num_ctx"), ({"stop": [1]}, "stop"),
                       ({"use_mmap": "yes"}, "use_mmap"), ({"bogus": 1}, "bogus"),
                       ({"temperature": float("nan")}, "temperature")]:
        with pytest.raises(InvalidInput, match=field):
            validate_options(bad)
    with pytest.raises(InvalidInput):
        validate_options([1])


@pytest.mark.parametrize("value, expected", [
    (None, None), (0, 0), (-1, -1), (300, 300), ("10m", "10m"), ("1h30m", "1h30m"),
    ("0", 0), ("-1", -1), (2.5, 2.5)])
def test_keep_alive_values(value, expected):
    assert validate_keep_alive(value) == expected


@pytest.mark.parametrize("value", ["forever", -5, True, "10 minutes", [1]])
def test_bad_keep_alive(value):
    with pytest.raises(InvalidInput, match="keep_alive"):
        validate_keep_alive(value)


@pytest.mark.parametrize("size, vram, text", [
    (1000, 0, "100% CPU"), (1000, 1000, "100% GPU"), (1000, 520, "48%/52% CPU/GPU"),
    (0, 0, "unknown")])
def test_processor_split_matches_ollama_ps(size, vram, text):
    assert processor_split(size, vram) == text


def test_describe_loaded_reads_captured_ps():
    model = {"name": "gemma3:270m", "size": 477798912, "size_vram": 0,
             "expires_at": "2026-11-25T21:19:20.568188819Z", "context_length": 4096}
    described = describe_loaded(model)
    assert described["size_mb"] == 455.7
    assert described["processor"] == "100% CPU"
    assert described["expires_at"].startswith("2026-11-25T21:19:20.568188")
    assert not described["expires_never"]
    forever = describe_loaded({**model, "expires_at": "2319-03-07T10:00:00.1Z"})
    assert forever["expires_never"] and forever["expires_at"] is None


def test_ndjson_lines_split_across_reads():
    body = b'{"a": 1}\n{"b": "x\\ny"}\n{"c": 3}'
    pieces = [body[i:i + 3] for i in range(0, len(body), 3)]
    assert list(iter_ndjson(iter(pieces))) == [{"a": 1}, {"b": "x\ny"}, {"c": 3}]


def test_ndjson_garbage_is_an_error():
    with pytest.raises(StreamFailed, match="not JSON"):
        list(iter_ndjson(iter([b'{"a": 1}\n<html>\n'])))


def test_reply_stats_tokens_per_second():
    stats = reply_stats({"done": True, "eval_count": 40, "eval_duration": 1_000_000_000,
                         "done_reason": "length", "context": [1, 2]})
    assert stats == {"eval_count": 40, "eval_duration": 1_000_000_000, "done_reason": "length",
                     "tokens_per_second": 40.0}


def _message(role: str, content: str) -> Message:
    return Message(0, role, content, "", "ok", None, None, None, None, None, 0.0)


def test_payloads_for_both_endpoints():
    window = [_message("user", "hi"), _message("assistant", "hello"), _message("user", "more")]
    assert flatten_prompt("Be kind.", window) == (
        "System: Be kind.\n\nUser: hi\nAssistant: hello\nUser: more\nAssistant:")
    chat = build_payload("chat", "m", "Be kind.", window, {"temperature": 0.1}, 0)
    assert chat["messages"][0] == {"role": "system", "content": "Be kind."}
    assert chat["options"] == {"temperature": 0.1} and chat["keep_alive"] == 0
    generate = build_payload("generate", "m", None, window, {}, None)
    assert "messages" not in generate and "options" not in generate
    assert generate["prompt"].startswith("User: hi")


@pytest.mark.parametrize("data, mime", [
    (b"\x89PNG\r\n\x1a\n....", "image/png"), (b"\xff\xd8\xff\xe0..", "image/jpeg"),
    (b"GIF89a..", "image/gif"), (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
    (b"RIFF\0\0\0\0WAVEfmt ", None), (b"<svg onload=x>", None), (b"", None)])
def test_images_are_known_by_their_bytes(data, mime):
    from webchat.validation import sniff_image
    assert sniff_image(data) == mime


def test_titles_and_fields_named_in_messages():
    from webchat.store.conversations import make_title
    from webchat.validation import field_of
    assert make_title("  Why is\nthe sky   blue? ") == "Why is the sky blue?"
    long = make_title("word " * 40)
    assert long.endswith("…") and len(long) <= 61
    assert field_of("options.top_p: must be at most 1") == "options.top_p"
    assert field_of("keep_alive: 'x' is not a duration") == "keep_alive"
    assert field_of("Only the last message, when its reply failed: no") is None


def test_images_are_shortened_in_the_stored_request():
    from webchat.relay.payload import redact_images
    window = [Message(1, "user", "look", "", "ok", None, None, None, None, None, 0.0,
                      images=["a" * 32])]
    payload = build_payload("chat", "m", None, window, {}, images={"a" * 32: "QUJD" * 10})
    assert payload["messages"][0]["images"] == ["QUJD" * 10]
    shown = redact_images(payload)
    assert shown["messages"][0]["images"] == ["<image: 40 characters of base64>"]
    assert payload["messages"][0]["images"] == ["QUJD" * 10]  # the original is untouched
    generate = build_payload("generate", "m", None, window, {}, images={"a" * 32: "QUJD"})
    assert redact_images(generate)["images"] == ["<image: 4 characters of base64>"]


def test_module_graph_follows_static_imports_only(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "vendor").mkdir()
    (tmp_path / "js" / "app.js").write_text(
        'import * as api from "./api.js";\n'
        "import {\n  a,\n  b,\n} from './parts.js';\n"
        'const later = () => import("./lazy.js");\n'
        '// import "./commented-out.js" is a comment, not an import\n')
    (tmp_path / "js" / "api.js").write_text('import { x } from "./parts.js";\n')
    (tmp_path / "js" / "parts.js").write_text(
        'import { Marked } from "../vendor/marked.esm.js";\nexport { y } from "./api.js";\n')
    (tmp_path / "vendor" / "marked.esm.js").write_text("export const Marked = 1;\n")
    assert module_graph(str(tmp_path)) == ("js/api.js", "js/parts.js", "vendor/marked.esm.js")


def test_an_unload_gives_up_soon_when_ollama_is_frozen():
    """A frozen Ollama accepts the connection and says nothing: the unload's own short
    timeout answers, not the minute a reply may wait."""
    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(4)
    try:
        client = OllamaClient(f"http://127.0.0.1:{frozen.getsockname()[1]}",
                              unload_timeout=0.3)
        with pytest.raises(OllamaUnreachable, match="did not answer within 0.3 s"):
            client.unload_model("gemma3:270m")
    finally:
        frozen.close()


CHUNKED = (b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4;ext=1\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nX-Trailer: y\r\n\r\nGET / HTTP/1.1")


def test_a_chunked_body_ends_where_it_ends_however_it_arrives():
    """The --production worker (slow_clients.py) finds the end of a chunked body as its
    bytes trickle in: split anywhere, the end is found at the same byte, never early."""
    from webchat.serve.request_framing import ChunkedEnd, framing, header_end

    end_of_head = header_end(CHUNKED)
    assert framing(CHUNKED[:end_of_head]).chunked
    body = CHUNKED[end_of_head:]
    expected = body.index(b"GET")
    for split in range(len(body) + 1):
        for cut in range(split, len(body) + 1):
            scanner = ChunkedEnd()
            found = [scanner.feed(body[:split]), scanner.feed(body[split:cut])]
            hit = next((f for f in found if f >= 0), -1)
            assert hit == (expected if cut >= expected else -1), (split, cut)
    with pytest.raises(ValueError):
        ChunkedEnd().feed(b"zz\r\n")


@pytest.mark.parametrize("head, expected", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {"length": 0}),
    (b"POST /a?q=1 HTTP/1.1\r\nContent-Length: 12\r\n\r\n", {"length": 12, "path": "/a"}),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", {"refused": True}),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", {"refused": True}),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
     {"refused": True}),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", {"refused": True}),
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n",
     {"length": 5, "expects_continue": True}),
    (b"POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
     {"length": 5, "expects_continue": False}),
])
def test_request_framing_is_read_as_gunicorn_reads_it(head, expected):
    from webchat.serve.request_framing import framing

    found = framing(head)
    assert {key: getattr(found, key) for key in expected} == expected


HARMONY_SHOW = {"details": {"family": "gptoss"}, "capabilities": ["completion", "thinking"],
                "template": "<|start|>system<|message|>Reasoning: {{ .ThinkLevel }}<|end|>"}


@pytest.mark.parametrize(("show", "levels"), [
    (HARMONY_SHOW, ["low", "medium", "high"]),
    ({**HARMONY_SHOW, "details": {"family": "gpt-oss"}}, ["low", "medium", "high"]),
    ({**HARMONY_SHOW, "template": "{{ .Prompt }}"}, []),  # no harmony tags: on/off
    ({**HARMONY_SHOW, "details": {"family": "qwen3"}}, []),  # Ollama keys on the family
    ({**HARMONY_SHOW, "capabilities": ["completion"]}, []),
    ({}, []),
])
def test_think_levels_follow_ollamas_harmony_rule(show, levels):
    assert think_levels(show) == levels


@pytest.mark.parametrize(("wanted", "capabilities", "sent"), [
    (False, ["completion", "thinking"], False),  # off is said, or the model thinks
    (None, ["completion", "thinking"], False),
    (True, ["completion", "thinking"], True),
    ("high", ["completion", "thinking"], True),  # an on/off model: on
    (True, ["completion"], None),  # never sent where it would be a 400
    (False, ["completion"], None),
    (None, None, None),
])
def test_think_to_send_says_off_to_a_thinking_model(wanted, capabilities, sent):
    assert think_to_send(wanted, {"capabilities": capabilities}) is sent


@pytest.mark.parametrize(("wanted", "sent"), [
    ("low", "low"), ("medium", "medium"), ("high", "high"), (True, "medium"),
    (False, "low"), (None, "low")])
def test_think_to_send_gives_a_level_model_a_level(wanted, sent):
    assert think_to_send(wanted, HARMONY_SHOW) == sent


@pytest.mark.parametrize(("name", "entry", "cloud"), [
    ("gpt-oss:120b-cloud", {}, True), ("kimi-k2:cloud", {}, True), ("Qwen3:CLOUD", {}, True),
    ("gpt-oss:120b", {"remote_host": "https://ollama.com:443"}, True),
    ("gpt-oss:120b", {"remote_model": "gpt-oss:120b"}, True),
    ("gemma3:270m", {}, False), ("cloud", {}, False), ("my-cloud", {}, False),
    ("registry.example:5000/cloud", {}, False), ("cloud-model:latest", {}, False),
])
def test_is_cloud_reads_ollamas_remote_fields_and_source_suffix(name, entry, cloud):
    assert is_cloud(name, entry) is cloud
