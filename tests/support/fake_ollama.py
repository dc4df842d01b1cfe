"""A stand-in Ollama server for tests, answering as Ollama 0.32.15 (or 0.24.0 on request).

The app's hardest paths (a model still loading, Stop mid-stream, Ollama dying or coming
back) depend on *when* bytes arrive, not only on what they say. So this fake speaks real
HTTP/1.1 with chunked NDJSON, sends the response headers only together with the first
token (as Ollama does), and notices a client hang-up even while it is "loading" or
stalled. Shapes, statuses and error texts follow /work/shared/ollama-api.md, which was
captured from a real Ollama.

Default reply, so tests can check order and completeness without scripting anything:
    chat:     ["You", " said", ":"] + [" " + word for word in last_user_message.split()]
    generate: the same rule applied to the last line of the prompt.
A thinking model (capability `thinking`) streams _DEFAULT_THINKING first as thinking unless
the request says "think": false, as Ollama does since 0.12.4: leaving `think` out thinks.

Where releases differ on the wire (tests/captures/contract/VERSION/ holds each one's answers),
`FakeOllama(release=...)` picks which one it answers as; RELEASES says what differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import select
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import fake_context

__all__ = ["CAPTURES", "DEFAULT_RELEASE", "RELEASES", "FakeOllama", "Release"]

# tests/' own copies of a real Ollama's raw answers (scripts/refresh_captures.py).
CAPTURES = Path(__file__).resolve().parent.parent / "captures"


@dataclass(frozen=True)
class Release:
    """How one Ollama release answers where releases differ (seen in its contract captures)."""

    version: str
    # /api/tags entries carry `capabilities`, and their details the model's trained
    # `context_length` and `embedding_length` (0.30 and later).
    tags_capabilities: bool
    # A one-token reply still reports `eval_duration` (0.32: llama-server times every
    # token; 0.24's runner samples a lone token with the prompt and omits it).
    lone_token_timed: bool
    # The prompt cache rolls back only to checkpoints made while a prompt is read, 4
    # tokens before its end (0.30+: llama-server, for Gemma 3's sliding-window attention;
    # its log: "restored context checkpoint"): the reply after a prompt is always read
    # again. 0.24's own runner reuses any common prefix, the reply included.
    checkpoint_cache: bool = False


RELEASES = {
    "0.32.15": Release("0.32.15", tags_capabilities=True, lone_token_timed=True,
                       checkpoint_cache=True),
    "0.24.0": Release("0.24.0", tags_capabilities=False, lone_token_timed=False),
}
DEFAULT_RELEASE = "0.32.15"  # what people run today, and what ../shared/real-ollama starts
THINK_LEVELS = ("high", "medium", "low", "max")  # api.ThinkValue's strings
RUNNER_STOPPED = (
    "model runner has unexpectedly stopped, this may be due to resource limitations "
    "or an internal error, check ollama server logs for details"
)
_FOREVER_NS = 2**63 - 1  # Go's math.MaxInt64 duration: keep_alive -1 lands in ~2318
_DEFAULT_KEEP_ALIVE_NS = 5 * 60 * 10**9
_POLL = 0.02  # how often a waiting handler looks for a hang-up
_COLD_LOAD_NS = 750_000_000  # nominal figures, so tokens/s shown by the app is sane
_WARM_LOAD_NS = 100_000_000
_TOKEN_NS = 25_000_000
_PROMPT_TOKEN_NS = 3_500_000
_DEFAULT_THINKING = ("Let", " me", " think", ".")
_GARBAGE = b"this is not json\n"


_FLOAT_OPTIONS = frozenset({
    "temperature", "top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty",
    "frequency_penalty", "mirostat_tau", "mirostat_eta",
})
_INT_OPTIONS = frozenset({
    "top_k", "num_ctx", "num_predict", "seed", "repeat_last_n", "num_keep", "num_gpu",
    "num_thread", "num_batch", "main_gpu", "mirostat",
})
_BOOL_OPTIONS = frozenset({"use_mmap", "numa", "penalize_newline"})
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6,
                   "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


@dataclass
class _Model:
    name: str
    size: int
    digest: str
    details: dict[str, Any]
    modified_at: str
    context_length: int = 4096
    loaded_size: int = 0
    capabilities: list[str] = field(default_factory=lambda: ["completion"])
    trained_context: int = 32768
    embedding_length: int = 640
    template: str = "{{ .Prompt }}"
    remote_host: str = ""  # a cloud model: Ollama hands its requests to ollama.com
    remote_model: str = ""

    def remote(self) -> dict[str, str]:
        """api.ListModelResponse/ShowResponse's omitempty remote_model and remote_host."""
        return ({"remote_model": self.remote_model, "remote_host": self.remote_host}
                if self.remote_host else {})

    def tag(self, release: Release) -> dict[str, Any]:
        entry = {"name": self.name, "model": self.name, **self.remote(),
                 "modified_at": self.modified_at, "size": self.size, "digest": self.digest,
                 "details": self.details}
        if release.tags_capabilities:
            entry["details"] = self.details | {"context_length": self.trained_context,
                                               "embedding_length": self.embedding_length}
            entry["capabilities"] = self.capabilities
        return entry


@dataclass
class _Loaded:
    model: _Model
    context_length: int
    expires_ns: int = 0  # what /api/ps shows
    vanish_ns: int = 0  # when it leaves /api/ps (later than expires_ns after an unload)
    in_use: int = 0  # Ollama never expires a model that is answering
    unload_pending: bool = False  # keep_alive 0 arrived while answering
    cache: list[str] = field(default_factory=list)  # tokens of the last prompt and reply
    checkpoints: list[int] = field(default_factory=list)  # where 0.32 can roll back to

    def visible(self, now: int) -> bool:
        return self.in_use > 0 or now < self.vanish_ns

    def warm(self, now: int) -> bool:
        return self.in_use > 0 or now < self.expires_ns


@dataclass
class _Script:
    tokens: list[str] | None = None
    delay: float | None = None
    thinking: list[str] | None = None
    break_after: int | None = None
    stall_after: int | None = None
    error_after: int | None = None
    error_message: str = RUNNER_STOPPED
    no_done: bool = False
    garbage_after: int | None = None
    load_delay: float | None = None
    lines: list[bytes] | None = None  # a replayed capture, sent verbatim


class _ApiError(Exception):
    """An error Ollama answers before streaming starts."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _ClientGone(Exception):
    """The client hung up (or the fake is stopping): stop working on this request."""


def _default_models() -> list[_Model]:
    """The models of the captured /api/tags (sizes and contexts, once loaded, from the
    captured /api/ps; capabilities and trained contexts as 0.32 lists them), and a thinking
    model of another family the real server does not have."""
    tags = json.loads((CAPTURES / "tags.json").read_text())["models"]
    ps = json.loads((CAPTURES / "ps-two-loaded.json").read_text())["models"]
    runtime = {entry["name"]: (entry["size"], entry["context_length"]) for entry in ps}
    thinker = _Model(
        name="thinker:latest", size=522653767, digest=_digest("thinker:latest"),
        details=_details("qwen3", "751.63M"), modified_at="2026-11-25T21:12:41.503118726Z",
        loaded_size=998244352, capabilities=["completion", "thinking"], trained_context=40960,
    )
    models = [thinker]
    for entry in reversed(tags):  # catalog keeps oldest first; /api/tags shows newest first
        loaded_size, context = runtime.get(entry["name"], (int(entry["size"] * 1.85), 4096))
        details = dict(entry["details"])
        trained = details.pop("context_length", 32768)
        embedding = details.pop("embedding_length", 640)
        models.append(_Model(entry["name"], entry["size"], entry["digest"], details,
                             entry["modified_at"], context, loaded_size,
                             list(entry.get("capabilities") or ["completion"]), trained,
                             embedding))
    # The thinking models come oldest, so a page that picks the newest model gets one that
    # does not think (a thinking model thinks unless asked not to).
    return sorted(models, key=lambda model: "thinking" not in model.capabilities)


def _details(family: str, parameter_size: str) -> dict[str, Any]:
    return {"parent_model": "", "format": "gguf", "family": family, "families": [family],
            "parameter_size": parameter_size, "quantization_level": "Q4_K_M"}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _full_name(name: str) -> str:
    """Ollama treats "gemma3" as "gemma3:latest"; a ':' in a registry host is not a tag."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _manifest_path(name: str) -> str:
    """Where Ollama keeps a model's manifest: host/namespace/model/tag, lower case."""
    rest, _, tag = _full_name(name).rpartition(":")
    parts = rest.split("/")
    parts = ["registry.ollama.ai", "library"][:max(0, 3 - len(parts))] + parts
    return "/".join([*parts, tag]).lower()


def _rfc3339(ns: int) -> str:
    """Format like Go's time.RFC3339Nano in UTC, which is what the captures show."""
    seconds, fraction = divmod(ns, 10**9)
    stamp = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + f".{fraction:09d}".rstrip("0").rstrip(".") + "Z"


def _now() -> str:
    return _rfc3339(time.time_ns())


def _dumps(value: Any) -> bytes:
    """Encode like Go's encoding/json, which escapes HTML characters inside strings."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode()


def _go_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "bool", type(None): "null"}
    return kinds.get(type(value), "number")


def _parse_go_duration(text: str) -> int:
    """Parse like Go's time.ParseDuration, because Ollama hands keep_alive strings to it."""
    rest = text[1:] if text[:1] in "+-" else text
    sign = -1 if text.startswith("-") else 1
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    while rest:
        match = _DURATION_PART.match(rest)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _DURATION_UNITS[unit]
        rest = rest[match.end():]
    return sign * int(total)


def _keep_alive_ns(value: Any) -> int:
    """Mirror Ollama's api.Duration: numbers are whole seconds, anything negative is forever."""
    if value is None:
        return _DEFAULT_KEEP_ALIVE_NS
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _ApiError(400, f"Unsupported type: '{_go_kind(value)}'")
    if isinstance(value, str):
        try:
            duration = _parse_go_duration(value)
        except ValueError as error:
            raise _ApiError(400, str(error)) from None
    else:
        duration = int(value) * 10**9 if value >= 0 else -1
    return _FOREVER_NS if duration < 0 else duration


def _check_options(options: Any) -> None:
    """Reject what Ollama's Options.FromMap rejects (a 500 there); ignore unknown names."""
    if not isinstance(options, dict):
        raise _ApiError(400, f"json: cannot unmarshal {_go_kind(options)} into Go struct "
                             "field .options of type map[string]interface {}")
    for key, value in options.items():
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is None:
            continue
        if key in _FLOAT_OPTIONS and not is_number:
            raise _ApiError(500, f'option "{key}" must be of type float32')
        if key in _INT_OPTIONS and not is_number:
            raise _ApiError(500, f'option "{key}" must be of type integer')
        if key in _BOOL_OPTIONS and not isinstance(value, bool):
            raise _ApiError(500, f'option "{key}" must be of type boolean')
        if key == "stop" and not isinstance(value, list):
            raise _ApiError(500, 'option "stop" must be of type array')
        if key == "stop" and not all(isinstance(item, str) for item in value):
            raise _ApiError(500, 'option "stop" must be of an array of strings')


def _check_think(think: Any) -> None:
    """api.ThinkValue's UnmarshalJSON: a bool, one of its level strings, or null."""
    if think is None or isinstance(think, bool):
        return
    if isinstance(think, str) and think not in THINK_LEVELS:
        raise _ApiError(400, f'invalid think value: "{think}" (must be "high", "medium", '
                             '"low", "max", true, or false)')
    if not isinstance(think, str):
        raise _ApiError(400, 'think must be a boolean or string ("high", "medium", "low", '
                             '"max", true, or false)')


def _thinks(body: dict[str, Any], model: _Model) -> bool:
    """Ollama's rule (server/routes.go ChatHandler, since 0.12.4): a model that lists
    `thinking` thinks unless the request says "think": false (left out means true); asking
    one without the capability to think (true or a level) is a 400."""
    think = body.get("think")
    _check_think(think)
    if "thinking" in model.capabilities:
        return think is not False
    if think is True or isinstance(think, str):
        raise _ApiError(400, f'"{body.get("model")}" does not support thinking')
    return False


def _echo(text: str) -> list[str]:
    return ["You", " said", ":"] + [" " + word for word in text.split()]


def _last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def _last_line(prompt: Any) -> str:
    lines = prompt.splitlines() if isinstance(prompt, str) else []
    return lines[-1] if lines else ""


def _collate(messages: Any) -> tuple[str, list[dict[str, str]]]:
    """Like Ollama's template.collate: system texts joined into .System, and messages of
    the same role in a row merged; system messages stay in the list (index 0)."""
    system: list[str] = []
    collated: list[dict[str, str]] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        role, content = str(message.get("role") or ""), str(message.get("content") or "")
        if role == "system":
            system.append(content)
        if collated and collated[-1]["role"] == role:
            collated[-1]["content"] += "\n\n" + content
        else:
            collated.append({"role": role, "content": content})
    return "\n\n".join(system), collated


def render_gemma3(messages: Any) -> str:
    """Gemma 3's chat template (shared/real-ollama/gemma3.template), which writes the
    system prompt into the user turn at index 1 and nowhere else."""
    system, collated = _collate(messages)
    out: list[str] = []
    for index, message in enumerate(collated):
        if message["role"] == "user":
            head = f"\n{system}\n" if index == 1 and system else ""
            out.append(f"<start_of_turn>user{head}\n{message['content']}<end_of_turn>\n")
        elif message["role"] == "assistant":
            out.append(f"<start_of_turn>model\n{message['content']}<end_of_turn>\n")
        if index == len(collated) - 1:
            out.append("<start_of_turn>model\n")
    return "".join(out)


def render_plain(messages: Any) -> str:
    """Other families: every message, the system prompt first, one after the other."""
    _, collated = _collate(messages)
    return "".join(f"<{m['role']}>{m['content']}\n" for m in collated) + "<assistant>"


_TOKEN = re.compile(r"<[a-z_]+>|\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """A stand-in tokenizer: template markers, words and punctuation are one token each."""
    return _TOKEN.findall(text)


def render_prompt(model: _Model, body: dict[str, Any], chat: bool) -> str:
    """The prompt the model reads, rendered through its family's template."""
    if chat:
        messages = body.get("messages")
    else:
        system = body.get("system")
        messages = ([{"role": "system", "content": system}] if isinstance(system, str)
                    and system else []) + [{"role": "user", "content": body.get("prompt")}]
    if model.details.get("family") == "gemma3":
        return render_gemma3(messages)
    return render_plain(messages)


def _common_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def _piece(model: str, chat: bool, text: str, thinking: bool) -> dict[str, Any]:
    """One streamed token line; created_at is filled in when it is actually sent."""
    line: dict[str, Any] = {"model": model, "created_at": ""}
    if chat:
        message = {"role": "assistant", "content": "" if thinking else text}
        line["message"] = message | ({"thinking": text} if thinking else {})
    else:
        line["response"] = "" if thinking else text
        if thinking:
            line["thinking"] = text
    line["done"] = False
    return line


def _done(model: str, chat: bool, reason: str, content: str = "",
          thinking: str = "") -> dict[str, Any]:
    line: dict[str, Any] = {"model": model, "created_at": _now()}
    if chat:
        message = {"role": "assistant", "content": content}
        line["message"] = message | ({"thinking": thinking} if thinking else {})
    else:
        line["response"] = content
        if thinking:
            line["thinking"] = thinking
    return line | {"done": True, "done_reason": reason}


def _stats(release: Release, load_ns: int, prompt_count: int, eval_count: int, eval_ns: int,
           uncached: int | None = None) -> dict[str, int]:
    """Durations are measured, with floors so an instant fake still reports a sane rate.
    As in Ollama, the count is the whole prompt and the duration only its uncached part."""
    prompt_ns = (prompt_count if uncached is None else uncached) * _PROMPT_TOKEN_NS
    eval_ns = max(eval_ns, max(eval_count, 1) * _TOKEN_NS)
    stats = {"total_duration": load_ns + prompt_ns + eval_ns, "load_duration": load_ns,
             "prompt_eval_count": prompt_count, "prompt_eval_duration": prompt_ns,
             "eval_count": eval_count, "eval_duration": eval_ns}
    if eval_count <= 1 and not release.lone_token_timed:  # 0.24 samples a lone token with
        del stats["eval_duration"]  # the prompt: eval_duration 0, which omitempty leaves out
    return stats


def _faults(script: _Script, count: int) -> dict[int, list[str]]:
    """Map a position in the stream to what goes wrong just before that piece."""
    faults: dict[int, list[str]] = {}
    for action in ("garbage", "error", "break", "stall"):
        after = getattr(script, f"{action}_after")
        if after is not None:
            faults.setdefault(min(after, count), []).append(action)
    return faults


class FakeOllama:
    """A real HTTP server on 127.0.0.1 that behaves like Ollama, with knobs for tests.

    Use as `with FakeOllama() as fake:`. Give a port to restart on the same address after
    stop(), which is how a test makes "Ollama went down and came back"; `release` (a key
    of RELEASES) picks the release it answers as. All attributes may be changed while it
    runs.
    """

    def __init__(self, port: int = 0, release: str = DEFAULT_RELEASE) -> None:
        if release not in RELEASES:
            raise ValueError(f"release: one of {sorted(RELEASES)}, not {release!r}")
        self.release = RELEASES[release]
        self.port = port
        self.load_delay = 0.0  # seconds a cold model takes to load
        self.token_delay = 0.0  # seconds before each streamed token
        self.pull_delay = 0.01  # seconds before each /api/pull progress line
        self.unload_lag = 0.1  # seconds an unloaded model stays in /api/ps
        self.gpu_fraction = 0.0  # share of a loaded model on the GPU (size_vram)
        self.redirect_to: str | None = None  # answer every request with a 307 to here
        self.requests: list[tuple[str, str, Any]] = []
        self.unloads: list[str] = []
        # (model, prompt tokens, tokens found in the cache) for each answered request
        self.prompts: list[tuple[str, int, int]] = []
        self.warm_prompts: list[tuple[str, int, int]] = []  # the same, for the warm-ups
        self.last_prompt: str = ""  # the last prompt rendered through a template
        self._lock = threading.Condition()
        self._models = {model.name: model for model in _default_models()}
        self._loaded: dict[str, _Loaded] = {}
        self._scripts: deque[_Script] = deque()
        self._disconnects = 0
        self._active = 0
        self._server: _Server | None = None

    # -- life cycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOllama:
        """Listen; a restarted Ollama has nothing loaded, so /api/ps starts empty."""
        server = _Server(("127.0.0.1", self.port), self)
        self.port = server.server_address[1]
        with self._lock:
            self._loaded.clear()
        self._server = server
        # A short poll interval is what lets stop() return within ~10 ms.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                         name=f"fake-ollama-{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Die like a killed Ollama: refuse new connections and cut every open one."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.drop_clients()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- shaping what it does -----------------------------------------------------------

    def add_model(self, name: str, *, size: int = 500_000_000, context_length: int = 4096,
                  capabilities: Sequence[str] = ("completion",), family: str = "llama",
                  parameter_size: str = "1B", loaded_size: int | None = None,
                  template: str = "{{ .Prompt }}", remote_host: str = "",
                  remote_model: str = "") -> None:
        """Install a model as if pulled now, so it comes first in /api/tags. `template`
        is what /api/show says (gpt-oss's harmony tags make Ollama take think levels);
        `remote_host` (e.g. "https://ollama.com:443") makes it a cloud model, listed as
        Ollama lists one (a few hundred bytes, `remote_model` and `remote_host`)."""
        name = _full_name(name)
        model = _Model(name, size, _digest(name), _details(family, parameter_size), _now(),
                       context_length, loaded_size or int(size * 1.85), list(capabilities),
                       max(32768, context_length), template=template,
                       remote_host=remote_host,
                       remote_model=remote_model or name.removesuffix("-cloud"))
        with self._lock:
            self._models.pop(name, None)
            self._models[name] = model

    def remove_model(self, name: str) -> None:
        with self._lock:
            self._models.pop(_full_name(name), None)

    def script(self, tokens: Sequence[str] | None = None, *, delay: float | None = None,
               thinking: Sequence[str] | None = None, break_after: int | None = None,
               stall_after: int | None = None, error_after: int | None = None,
               error_message: str = RUNNER_STOPPED, no_done: bool = False,
               garbage_after: int | None = None, load_delay: float | None = None) -> None:
        """Queue how the next generating chat/generate request answers (FIFO, one each).

        Faults fire after N streamed token lines (thinking lines count), or after all of
        them when N is larger. break: cut the connection with no chunked terminator.
        stall: send nothing more until the client leaves or stop(). error: send an
        {"error": error_message} line and end the stream cleanly. garbage: send one
        non-JSON line, then carry on. no_done: end cleanly without the done line.
        delay None means token_delay; load_delay, when given, is waited even if warm.
        Load-only and unload requests do not consume a script.
        """
        entry = _Script(
            tokens=None if tokens is None else list(tokens), delay=delay,
            thinking=None if thinking is None else list(thinking), break_after=break_after,
            stall_after=stall_after, error_after=error_after, error_message=error_message,
            no_done=no_done, garbage_after=garbage_after, load_delay=load_delay,
        )
        with self._lock:
            self._scripts.append(entry)

    def replay(self, path: str | Path, *, delay: float | None = None) -> None:
        """Queue a captured NDJSON body to be streamed verbatim, one chunk per line."""
        path = Path(path)
        if not path.exists() and (CAPTURES / path).exists():
            path = CAPTURES / path
        lines = path.read_bytes().splitlines(keepends=True)
        with self._lock:
            self._scripts.append(_Script(lines=lines, delay=delay))

    # -- observing it -------------------------------------------------------------------

    @property
    def disconnects(self) -> int:
        """Requests whose client hung up before the answer ended (stop() does not count)."""
        with self._lock:
            return self._disconnects

    @property
    def active_streams(self) -> int:
        """Chat, generate and pull requests in progress, including while loading."""
        with self._lock:
            return self._active

    def wait_for_disconnect(self, timeout: float = 2.0, count: int = 1) -> bool:
        """Block until `count` hang-ups in total were seen; tests avoid sleeping blindly."""
        with self._lock:
            return self._lock.wait_for(lambda: self._disconnects >= count, timeout)

    def last_payload(self, path: str) -> Any:
        """The JSON body of the latest request to `path`, or None; the app's warm-ups of
        the prompt cache (`is_warm_up`) do not count."""
        with self._lock:
            return next((body for _, seen, body in reversed(self.requests) if seen == path
                         and not is_warm_up(body)), None)

    def loaded_names(self) -> list[str]:
        return [entry["name"] for entry in self._ps()]

    # -- state used by the handler ------------------------------------------------------

    def _record(self, method: str, path: str, payload: Any) -> None:
        with self._lock:
            self.requests.append((method, path, payload))

    def _find(self, name: str) -> _Model | None:
        """Any spelling Ollama takes for the model: its manifests live under the name in
        lower case, with the registry and `library/` filled in (model.Name.Filepath)."""
        with self._lock:
            found = self._models.get(_full_name(name))
            if found is None:
                key = _manifest_path(name)
                found = next((m for n, m in self._models.items()
                              if _manifest_path(n) == key), None)
            return found

    def _tags(self) -> list[dict[str, Any]]:
        with self._lock:
            return [model.tag(self.release) for model in reversed(self._models.values())]

    def _ps(self) -> list[dict[str, Any]]:
        now = time.time_ns()
        with self._lock:
            for name in [n for n, e in self._loaded.items() if not e.visible(now)]:
                del self._loaded[name]
            entries = sorted(self._loaded.values(), key=lambda e: e.expires_ns, reverse=True)
            fraction = self.gpu_fraction
        return [{"name": e.model.name, "model": e.model.name, "size": e.model.loaded_size,
                 "digest": e.model.digest, "details": e.model.details,
                 "expires_at": _rfc3339(e.expires_ns),
                 "size_vram": int(e.model.loaded_size * fraction),
                 "context_length": e.context_length} for e in entries]

    def _context_of(self, model: _Model) -> int:
        """The context the model runs with now (as /api/ps says), or its own."""
        with self._lock:
            entry = self._loaded.get(model.name)
            return entry.context_length if entry is not None else model.context_length

    def _is_warm(self, name: str) -> bool:
        with self._lock:
            entry = self._loaded.get(name)
            return entry is not None and entry.warm(time.time_ns())

    def _set_expiry(self, entry: _Loaded, keep_alive_ns: int) -> None:
        now = time.time_ns()
        entry.expires_ns = now + keep_alive_ns
        entry.vanish_ns = entry.expires_ns
        if keep_alive_ns == 0:
            entry.vanish_ns = now + int(self.unload_lag * 1e9)

    def _acquire(self, model: _Model, context_length: int, keep_alive_ns: int) -> None:
        with self._lock:
            entry = self._loaded.get(model.name)
            if entry is None or not entry.visible(time.time_ns()):
                entry = self._loaded[model.name] = _Loaded(model, context_length)
            entry.context_length = context_length
            entry.in_use += 1
            self._set_expiry(entry, keep_alive_ns)

    def _release(self, name: str, keep_alive_ns: int) -> None:
        """The keep-alive clock starts when the answer ends, as in Ollama."""
        with self._lock:
            entry = self._loaded.get(name)
            if entry is not None:
                entry.in_use -= 1
                if entry.unload_pending and entry.in_use <= 0:
                    entry.unload_pending = False
                    keep_alive_ns = 0
                self._set_expiry(entry, keep_alive_ns)

    def _unload(self, name: str) -> None:
        """Like Ollama's expireRunner: a model that is answering stays until its running
        requests end (/api/ps shows it expiring now), then goes."""
        with self._lock:
            self.unloads.append(name)
            entry = self._loaded.get(name)
            if entry is None:
                return
            entry.cache, entry.checkpoints = [], []
            if entry.in_use > 0:
                entry.expires_ns = time.time_ns()
                entry.unload_pending = True
            else:
                self._set_expiry(entry, 0)

    def _read_prompt(self, name: str, tokens: list[str], warm_up: bool = False) -> int:
        """Ollama's prompt cache: the tokens to evaluate after the longest common prefix
        with the model's last prompt (at least one, as Ollama always reads the last)."""
        with self._lock:
            entry = self._loaded.get(name)
            cached = _common_prefix(entry.cache, tokens) if entry is not None else 0
            if entry is not None and self.release.checkpoint_cache:
                entry.checkpoints = [c for c in entry.checkpoints if c <= cached]
                cached = max(entry.checkpoints, default=0)
                entry.checkpoints.append(max(0, len(tokens) - 4))
            if entry is not None:
                entry.cache = list(tokens)
            (self.warm_prompts if warm_up else self.prompts).append(
                (name, len(tokens), cached))
        return max(1, len(tokens) - cached)

    def _remember_reply(self, name: str, prompt: list[str], reply: str) -> None:
        """The KV cache also holds what the model said after the prompt."""
        with self._lock:
            entry = self._loaded.get(name)
            if entry is not None and entry.cache == prompt:
                entry.cache = prompt + tokenize(reply)

    def _next_script(self) -> _Script:
        with self._lock:
            return self._scripts.popleft() if self._scripts else _Script()

    def _note_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1
            self._lock.notify_all()

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1


def is_warm_up(body: Any) -> bool:
    """The app's warm-up of the prompt cache after a reply (webchat/relay/cache_warm.py):
    the window with the reply last, for one token. Kept apart from the replies' requests
    (`last_payload`, `prompts`, `disconnects`), as it comes after a reply's `done`."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return False
    messages, options = body["messages"], body.get("options") or {}
    return (bool(messages) and isinstance(messages[-1], dict)
            and messages[-1].get("role") == "assistant" and options.get("num_predict") == 1)


def connection_thread_name(port: int) -> str:
    """The name of the stand-in's thread serving one client connection on `port`."""
    return f"fake-ollama-{port}-connection"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: FakeOllama) -> None:
        self.fake = fake
        self.stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), which can stall for seconds without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._clients_lock:
            self._clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._clients_lock:
            self._clients.discard(request)
        super().shutdown_request(request)

    def drop_clients(self) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # hang-ups are expected here
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        # One thread per client connection: named, so a leak check can tell them apart.
        threading.current_thread().name = connection_thread_name(self.server.server_port)
        super().setup()
    server: _Server
    disable_nagle_algorithm = True  # Go's net/http, hence Ollama, sets TCP_NODELAY

    @property
    def fake(self) -> FakeOllama:
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output readable

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        self._head, self._stream_open = method == "HEAD", False
        path = self.path.split("?", 1)[0]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            payload = None
        self.fake._record(method, path, payload)
        route = _ROUTES.get(("GET" if self._head else method, path))
        try:
            try:
                if self.fake.redirect_to:
                    self._redirect(self.fake.redirect_to.rstrip("/") + self.path)
                elif route is None:
                    self._send(404, b"404 page not found", "text/plain")
                else:
                    route(self, raw)
            except _ApiError as error:
                self._send_json(error.status, {"error": error.message})
        except (_ClientGone, OSError):
            self.close_connection = True
            if not self.server.stopping.is_set() and not is_warm_up(payload):
                self.fake._note_disconnect()

    # -- plain answers ------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str | None = None) -> None:
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        if content_type:
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._head:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response_only(307)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_json(self, status: int, value: Any) -> None:
        self._send(status, _dumps(value), "application/json")

    def _body(self, raw: bytes, request_type: str) -> dict[str, Any]:
        if not raw.strip():
            raise _ApiError(400, "missing request body")
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as error:
            if error.pos >= len(error.doc):
                raise _ApiError(400, "unexpected EOF") from None
            raise _ApiError(400, f"invalid character '{error.doc[error.pos]}' looking for "
                                 "beginning of value") from None
        if not isinstance(body, dict):
            raise _ApiError(400, f"json: cannot unmarshal {_go_kind(body)} into Go value "
                                 f"of type api.{request_type}")
        return body

    def _model_named(self, body: dict[str, Any]) -> _Model:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            raise _ApiError(400, "model is required")
        model = self.fake._find(name)
        if model is None:
            raise _ApiError(404, f"model '{name}' not found")
        return model

    # -- streaming plumbing -------------------------------------------------------------

    def _client_hung_up(self, timeout: float) -> bool:
        """Wait up to `timeout` for the client to close; EOF on a peek means it left."""
        try:
            readable, _, _ = select.select([self.connection], [], [], timeout)
            if not readable:
                return False
            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                return True
        except OSError:
            return True
        time.sleep(timeout)  # it sent more bytes (pipelining): still there
        return False

    def _pause(self, seconds: float) -> None:
        """Wait like a busy model, yet end the request the moment the client leaves."""
        deadline = time.monotonic() + seconds
        while True:
            step = min(_POLL, max(0.0, deadline - time.monotonic()))
            if self.server.stopping.is_set() or self._client_hung_up(step):
                raise _ClientGone
            if time.monotonic() >= deadline:
                return

    def _stall(self) -> None:
        while True:
            self._pause(_POLL)

    def _write(self, data: bytes) -> None:
        try:
            if not self._stream_open:  # Ollama's headers leave with the first line
                self._stream_open = True
                self.send_response_only(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Date", self.date_time_string())
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
            self.wfile.write(data)
        except OSError:
            raise _ClientGone from None

    def _chunk(self, line: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(line), line))

    def _end_chunks(self) -> None:
        self._write(b"0\r\n\r\n")

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _play(self, pieces: list[Any], script: _Script, delay: float, stream: bool) -> bool:
        """Send each piece as its own chunk; False when a scripted fault ended the answer."""
        faults = _faults(script, len(pieces))
        for index in range(len(pieces) + 1):
            for action in faults.get(index, ()):
                if action == "garbage" and stream:
                    self._chunk(_GARBAGE)
                elif action == "error" and not stream:
                    raise _ApiError(500, script.error_message)
                elif action == "error":
                    self._chunk(_dumps({"error": script.error_message}) + b"\n")
                    self._end_chunks()
                    return False
                elif action == "break":
                    self._hang_up()
                    return False
                elif action == "stall":
                    self._stall()
            if index == len(pieces):
                break
            self._pause(delay)
            piece = pieces[index]
            if stream:
                self._chunk(piece if isinstance(piece, bytes)
                            else _dumps(piece | {"created_at": _now()}) + b"\n")
        return True

    # -- endpoints ----------------------------------------------------------------------

    def _root(self, raw: bytes) -> None:
        self._send(200, b"Ollama is running", "text/plain")

    def _version(self, raw: bytes) -> None:
        self._send_json(200, {"version": self.fake.release.version})

    def _list_tags(self, raw: bytes) -> None:
        self._send_json(200, {"models": self.fake._tags()})

    def _list_ps(self, raw: bytes) -> None:
        self._send_json(200, {"models": self.fake._ps()})

    def _chat(self, raw: bytes) -> None:
        self._converse(self._body(raw, "ChatRequest"), chat=True)

    def _generate(self, raw: bytes) -> None:
        self._converse(self._body(raw, "GenerateRequest"), chat=False)

    def _converse(self, body: dict[str, Any], chat: bool) -> None:
        """Check in Ollama's order, then unload, load, or load and answer."""
        fake = self.fake
        _check_think(body.get("think"))  # decoded with the body, before anything is checked
        keep_alive = _keep_alive_ns(body.get("keep_alive"))
        if chat and not isinstance(body.get("messages", []), (list, type(None))):
            raise _ApiError(400, f"json: cannot unmarshal {_go_kind(body['messages'])} into "
                                 "Go struct field ChatRequest.messages of type []api.Message")
        given = body.get("model")
        if not isinstance(given, str) or not given:
            raise _ApiError(400, "model is required")
        model = fake._find(given)
        if model is None:
            raise _ApiError(404, f"model '{given}' not found")  # as given, no :latest
        has_input = bool(body.get("messages") if chat else body.get("prompt"))
        if not has_input and keep_alive == 0:
            fake._unload(model.name)
            return self._send_json(200, _done(given, chat, "unload"))
        think = _thinks(body, model)
        options = body.get("options") or {}
        _check_options(options)
        script = fake._next_script() if has_input and not is_warm_up(body) else _Script()
        with fake._busy():
            load_ns = self._load(model, options, keep_alive, script)
            try:
                if has_input:
                    self._answer(given, body, chat, think, script, load_ns)
                else:
                    self._send_json(200, _done(given, chat, "load"))
            finally:
                fake._release(model.name, keep_alive)

    def _load(self, model: _Model, options: dict[str, Any], keep_alive: int,
              script: _Script) -> int:
        """Wait out the load before any byte goes out; return load_duration in ns."""
        cold = not self.fake._is_warm(model.name)
        delay = script.load_delay
        if delay is None:
            delay = self.fake.load_delay if cold else 0.0
        started = time.monotonic_ns()
        self._pause(delay)
        num_ctx = options.get("num_ctx")
        context = int(num_ctx) if isinstance(num_ctx, (int, float)) and num_ctx > 0 else None
        if context is not None:  # capped at the trained length, as Ollama's llm/server.go
            context = min(context, model.trained_context)
        self.fake._acquire(model, context or model.context_length, keep_alive)
        return max(time.monotonic_ns() - started, _COLD_LOAD_NS if cold else _WARM_LOAD_NS)

    def _answer(self, given: str, body: dict[str, Any], chat: bool, think: bool,
                script: _Script, load_ns: int) -> None:
        delay = self.fake.token_delay if script.delay is None else script.delay
        stream = body.get("stream") is not False
        if script.lines is not None:
            if self._play(list(script.lines), script, delay, stream=True):
                self._end_chunks()
            return
        text = _last_user_text(body.get("messages")) if chat else _last_line(body.get("prompt"))
        tokens = _echo(text) if script.tokens is None else list(script.tokens)
        thinking = list(_DEFAULT_THINKING if script.thinking is None else script.thinking)
        thinking = thinking if think else []
        reason, limit = "stop", (body.get("options") or {}).get("num_predict")
        if isinstance(limit, (int, float)) and 0 <= limit <= len(thinking) + len(tokens):
            # num_predict counts every generated token, the thinking ones first
            thinking = thinking[: int(limit)]
            tokens, reason = tokens[: int(limit) - len(thinking)], "length"
        pieces = ([_piece(given, chat, t, thinking=True) for t in thinking]
                  + [_piece(given, chat, t, thinking=False) for t in tokens])
        model = self.fake._find(given)
        prompt, prompt_tokens = self._fitted_prompt(model, body, chat)
        self.fake.last_prompt = prompt
        uncached = self.fake._read_prompt(model.name if model else given, prompt_tokens,
                                          is_warm_up(body))
        started = time.monotonic_ns()
        if not self._play(pieces, script, delay, stream):
            return
        self.fake._remember_reply(model.name if model else given, prompt_tokens,
                                  "".join(tokens))
        prompt_count, eval_count = len(prompt_tokens), len(pieces)
        whole = {} if stream else {"content": "".join(tokens), "thinking": "".join(thinking)}
        final = _done(given, chat, reason, **whole)
        if not chat:
            final["context"] = [105 + i for i in range(prompt_count + eval_count)]
        final |= _stats(self.fake.release, load_ns, prompt_count, eval_count,
                        time.monotonic_ns() - started, uncached)
        if not stream:
            return self._send_json(200, final)
        if not script.no_done:
            self._chunk(_dumps(final) + b"\n")
        self._end_chunks()

    def _fitted_prompt(self, model: _Model | None, body: dict[str, Any],
                       chat: bool) -> tuple[str, list[str]]:
        """The prompt as the model reads it: past the loaded context it is cut without a
        word, or refused with `truncate: false` (tests/support/fake_context.py)."""
        if model is None:
            return "", []
        prompt = render_prompt(model, body, chat)
        tokens = tokenize(prompt)
        context = self.fake._context_of(model)
        version = self.fake.release.version
        if not fake_context.too_long(version, len(tokens), context):
            return prompt, tokens
        if body.get("truncate") is False:
            raise _ApiError(400, fake_context.overflow_message(version, len(tokens), context))
        if not chat:
            return prompt, fake_context.cut_tokens(tokens, context)
        kept = fake_context.cut_chat(list(body.get("messages") or []), lambda messages: (
            tokenize(render_prompt(model, {**body, "messages": messages}, True))), context)
        prompt = render_prompt(model, {**body, "messages": kept}, True)
        return prompt, tokenize(prompt)

    def _show(self, raw: bytes) -> None:
        model = self._model_named(self._body(raw, "ShowRequest"))
        family = model.details["family"]
        parameters = f"num_ctx                        {model.context_length}"
        template = model.template
        self._send_json(200, {
            "modelfile": (f'# Modelfile generated by "ollama show"\n'
                          f"# To build a new Modelfile based on this, replace FROM with:\n"
                          f"# FROM {model.name}\n\n"
                          f"FROM /root/.ollama/models/blobs/sha256-{model.digest}\n"
                          f'TEMPLATE "{template}"\nPARAMETER num_ctx {model.context_length}\n'),
            "parameters": parameters,
            "template": template,
            "details": model.details,
            **model.remote(),
            "model_info": {"general.architecture": family,
                           f"{family}.context_length": model.trained_context},
            "tensors": [],
            "capabilities": model.capabilities,
            "modified_at": model.modified_at,
        })

    def _delete(self, raw: bytes) -> None:
        model = self._model_named(self._body(raw, "DeleteRequest"))
        self.fake.remove_model(model.name)
        self._send(200, b"")

    def _pull(self, raw: bytes) -> None:
        """Stream Ollama's pull progress; installs the model just before "success"."""
        body = self._body(raw, "PullRequest")
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            raise _ApiError(400, "invalid model name")  # what /api/pull says, unlike chat
        full = _full_name(name)
        lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
        if "unreachable" in name:
            base, tag = full.rsplit(":", 1)
            path = base if "/" in base else f"library/{base}"
            lines.append({"error": f'pull model manifest: Get "https://registry.ollama.ai/v2/'
                                   f'{path}/manifests/{tag}": dial tcp: lookup '
                                   "registry.ollama.ai: no such host"})
        else:
            for layer, total in ((_digest(full), 291_548_160), (_digest(full + "/params"), 358)):
                lines += [{"status": f"pulling {layer[:12]}", "digest": f"sha256:{layer}",
                           "total": total, "completed": done}
                          for done in (0, total // 2, total)]
            lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"},
                      {"status": "success"}]
        stream = body.get("stream") is not False
        with self.fake._busy():
            for line in lines:
                self._pause(self.fake.pull_delay)
                if line.get("status") == "success" and self.fake._find(full) is None:
                    self.fake.add_model(full, size=291_548_518)
                if stream:
                    self._chunk(_dumps(line) + b"\n")
                elif "error" in line:
                    raise _ApiError(500, line["error"])
            if stream:
                self._end_chunks()
            else:
                self._send_json(200, {"status": "success"})


_ROUTES = {
    ("GET", "/"): _Handler._root,
    ("GET", "/api/version"): _Handler._version,
    ("GET", "/api/tags"): _Handler._list_tags,
    ("GET", "/api/ps"): _Handler._list_ps,
    ("POST", "/api/chat"): _Handler._chat,
    ("POST", "/api/generate"): _Handler._generate,
    ("POST", "/api/show"): _Handler._show,
    ("POST", "/api/pull"): _Handler._pull,
    ("DELETE", "/api/delete"): _Handler._delete,
}
