"""What the app relies on from Ollama, as scenarios whose answers can be compared.

Each scenario is a request (after some set-up requests) whose answer is reduced to what
the app depends on: the HTTP status, the order of the kinds of lines in a stream, and the
keys and JSON types (never the values) of every object. tests/captures/contract/VERSION/
holds a real Ollama's raw answers per release (scripts/refresh_captures.py rewrites them);
tests/real/test_contract.py holds the stand-in (in each release's mode) and the live real servers
to them. Where the releases differ, each release's captures say how, and the stand-in
answers as the release it is asked to be (tests/support/fake_ollama.py RELEASES).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .fake_ollama import DEFAULT_RELEASE
from .fake_ollama import RELEASES as STAND_IN_RELEASES

__all__ = ["DEFAULT_RELEASE", "RELEASES", "SCENARIOS", "Scenario", "capture_path", "compare",
           "recorded", "release_differences", "run", "version_of"]

# One folder per release in RELEASES: the one people run today (what the stand-in models by
# default and ../shared/real-ollama/start serves) and an older one still in use.
CONTRACT_CAPTURES = Path(__file__).resolve().parent.parent / "captures" / "contract"
RELEASES = tuple(STAND_IN_RELEASES)
MODEL = "gemma3:270m"
THINKER = "gemma3-think:270m"  # the shared start script's model that lists `thinking`
_ASK = [{"role": "user", "content": "Say hello."}]
_LOAD = ("POST", "/api/generate", {"model": MODEL})


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    before: tuple[tuple[str, str, dict[str, Any] | None], ...] = ()
    # Where the real server's answer varies, the paths left out of the comparison, each
    # with the reason (a path is "kind.key.key", kinds as in `kind_of`, [] for items).
    allowed: dict[str, str] = field(default_factory=dict)
    # Top-level values the app acts on, which must be equal too ("kind.key"): values are
    # otherwise never compared (timings, digests, dates and the text vary run to run).
    same: tuple[str, ...] = ()
    # Where the releases answer differently: each path only some releases have, with the
    # release it comes from and the reason. Each release's captures hold the stand-in to
    # that release; tests/real/test_contract.py holds this list to the captures.
    per_release: dict[str, tuple[str, str]] = field(default_factory=dict)


SCENARIOS = [
    Scenario("version", "GET", "/api/version"),
    Scenario("tags", "GET", "/api/tags", per_release={
        "object.models.[].capabilities": (
            "0.32.15", "the list says what each model can do (0.30 on); 0.24 only in /api/show"),
        "object.models.[].details.context_length": (
            "0.32.15", "the trained context; the one a loaded model runs with is /api/ps's"),
        "object.models.[].details.embedding_length": (
            "0.32.15", "listed beside it; the app does not read it"),
    }),
    Scenario("ps", "GET", "/api/ps", before=(_LOAD,)),
    Scenario("show", "POST", "/api/show", {"model": MODEL}, allowed={
        "object.model_info.*": "keys depend on the model's architecture; the app reads "
                               "only <architecture>.context_length",
        "object.tensors.[]": "the app never reads tensors (the stand-in lists none)",
    }),
    Scenario("chat-one-token", "POST", "/api/chat",
             {"model": MODEL, "messages": _ASK, "options": {"num_predict": 1}},
             before=(_LOAD,), per_release={
                 "final.eval_duration": (
                     "0.32.15", "llama-server times every token; 0.24's runner samples a "
                                "lone token with the prompt and omits the 0 (omitempty)"),
             }),
    Scenario("chat-stream", "POST", "/api/chat",
             {"model": MODEL, "messages": _ASK, "options": {"num_predict": 4}},
             before=(_LOAD,)),
    Scenario("generate-stream", "POST", "/api/generate",
             {"model": MODEL, "prompt": "Say hello.", "options": {"num_predict": 4}},
             before=(_LOAD,)),
    Scenario("load", "POST", "/api/generate", {"model": MODEL}, same=("final.done_reason",)),
    Scenario("chat-load", "POST", "/api/chat", {"model": MODEL}, same=("final.done_reason",)),
    Scenario("unload", "POST", "/api/generate", {"model": MODEL, "keep_alive": 0},
             before=(_LOAD,), same=("final.done_reason",)),
    Scenario("unload-not-loaded", "POST", "/api/generate", {"model": MODEL, "keep_alive": 0},
             before=(("POST", "/api/generate", {"model": MODEL, "keep_alive": 0}),),
             same=("final.done_reason",)),
    Scenario("chat-unknown-model", "POST", "/api/chat",
             {"model": "no-such-model:1b", "messages": _ASK}, same=("error.error",)),
    Scenario("chat-unknown-untagged-model", "POST", "/api/chat",
             {"model": "no-such-model", "messages": _ASK}, same=("error.error",)),
    Scenario("show-unknown-model", "POST", "/api/show", {"model": "no-such-model:1b"},
             same=("error.error",)),
    Scenario("delete-unknown-model", "DELETE", "/api/delete", {"model": "no-such-model:1b"},
             same=("error.error",)),
    Scenario("chat-bad-keep-alive", "POST", "/api/chat",
             {"model": MODEL, "messages": _ASK, "keep_alive": "forever"},
             same=("error.error",)),
    Scenario("chat-bad-option-type", "POST", "/api/chat",
             {"model": MODEL, "messages": _ASK, "options": {"temperature": "hot"}},
             same=("error.error",)),
    Scenario("chat-think-unsupported", "POST", "/api/chat",
             {"model": MODEL, "messages": _ASK, "think": True}, same=("error.error",)),
    # A thinking model thinks when `think` is left out (Ollama since 0.12.4): the token
    # lines carry message.thinking, as with "think": true; only false turns it off.
    Scenario("chat-think-absent", "POST", "/api/chat",
             {"model": THINKER, "messages": _ASK, "options": {"num_predict": 4}}),
    Scenario("chat-think-on", "POST", "/api/chat",
             {"model": THINKER, "messages": _ASK, "think": True,
              "options": {"num_predict": 4}}),
    Scenario("chat-think-off", "POST", "/api/chat",
             {"model": THINKER, "messages": _ASK, "think": False,
              "options": {"num_predict": 4}}),
    Scenario("chat-messages-not-a-list", "POST", "/api/chat",
             {"model": MODEL, "messages": "hi"}, same=("error.error",)),
    Scenario("pull-without-model", "POST", "/api/pull", {}, same=("error.error",)),
    # No network here: the real Ollama fails every pull; the stand-in fails this name.
    Scenario("pull-failure", "POST", "/api/pull", {"model": "unreachable-model:1b"}),
]


def run(base_url: str, scenario: Scenario, timeout: float = 120.0) -> dict[str, Any]:
    """Send the scenario's requests; return the last answer as {"status", "lines"}."""
    for method, path, body in scenario.before:
        requests.request(method, base_url + path, json=body, timeout=timeout).raise_for_status()
    response = requests.request(scenario.method, base_url + scenario.path,
                                json=scenario.body, timeout=timeout)
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return {"status": response.status_code, "lines": lines}


def capture_path(scenario: Scenario, release: str) -> Path:
    return CONTRACT_CAPTURES / release / f"{scenario.name}.json"


def recorded(scenario: Scenario, release: str) -> dict[str, Any]:
    """A real Ollama's answer, as last captured from that release."""
    path = capture_path(scenario, release)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/refresh_captures.py URL "
                                f"against a real Ollama {release} to capture it")
    return json.loads(path.read_text())["answer"]


def version_of(base_url: str) -> str:
    """The release a live Ollama says it is (GET /api/version)."""
    response = requests.get(base_url + "/api/version", timeout=10)
    response.raise_for_status()
    return response.json()["version"]


def kind_of(line: Any) -> str:
    """What a line is to the app: a token, the final stats line, an error, a status."""
    if not isinstance(line, dict):
        return "value"
    if "error" in line:
        return "error"
    if line.get("done") is True:
        return "final"
    if line.get("done") is False:
        return "token"
    if "status" in line:
        return "status"
    return "object"


def events(answer: dict[str, Any]) -> list[str]:
    """The kinds of lines in order, repeats folded (a stream's length varies)."""
    kinds: list[str] = []
    for line in answer["lines"]:
        kind = kind_of(line)
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def shape(value: Any) -> Any:
    """Keys and JSON types, not values: {"key": shape}, [item shape], or a type name."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        shapes = [shape(item) for item in value]
        merged = shapes[0] if shapes else None
        for other in shapes[1:]:
            merged = _merge(merged, other)
        return [] if merged is None else [merged]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _merge(one: Any, other: Any) -> Any:
    if isinstance(one, dict) and isinstance(other, dict):
        return {key: _merge(one[key], other[key]) if key in one and key in other
                else one.get(key, other.get(key)) for key in {**one, **other}}
    if one == other:
        return one
    return "|".join(sorted(set(str(one).split("|")) | set(str(other).split("|"))))


def shapes_by_kind(answer: dict[str, Any]) -> dict[str, Any]:
    """One merged shape per kind of line."""
    merged: dict[str, Any] = {}
    for line in answer["lines"]:
        kind, this = kind_of(line), shape(line)
        merged[kind] = _merge(merged[kind], this) if kind in merged else this
    return merged


def differences(expected: Any, actual: Any, where: str) -> list[str]:
    """Where two shapes disagree, as "path: what"; an empty list when they match."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            path = f"{where}.{key}"
            if key not in actual:
                found.append(f"{path}: missing")
            elif key not in expected:
                found.append(f"{path}: not in the real answer")
            else:
                found += differences(expected[key], actual[key], path)
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if not expected or not actual:  # an empty list says nothing about its items
            return []
        return differences(expected[0], actual[0], where + ".[]")
    return [] if expected == actual else [f"{where}: {actual} where real has {expected}"]


def _allowed(path: str, allowed: dict[str, str]) -> bool:
    for pattern in allowed:
        if path == pattern or path.startswith(pattern + ".") or path.startswith(pattern + ":"):
            return True
        if pattern.endswith(".*") and path.startswith(pattern[:-1]):
            return True
    return False


def release_differences(scenario: Scenario) -> dict[str, str]:
    """Each path where the captured releases differ, with the release that has it."""
    found: dict[str, str] = {}
    for release in RELEASES:
        for other in RELEASES:
            if other != release:
                for difference in compare(scenario, recorded(scenario, release),
                                          recorded(scenario, other)):
                    path, _, what = difference.partition(": ")
                    found[path] = release if what == "missing" else other
    return found


def compare(scenario: Scenario, real: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Every way `other` differs from the real answer in what the app relies on."""
    found = []
    if other["status"] != real["status"]:
        found.append(f"status {other['status']} where real has {real['status']}")
    if events(other) != events(real):
        found.append(f"events {events(other)} where real has {events(real)}")
    real_shapes, other_shapes = shapes_by_kind(real), shapes_by_kind(other)
    for kind in real_shapes.keys() & other_shapes.keys():
        found += [d for d in differences(real_shapes[kind], other_shapes[kind], kind)
                  if not _allowed(d.split(":")[0], scenario.allowed)]
    for path in scenario.same:
        kind, key = path.split(".", 1)
        want = [line.get(key) for line in real["lines"] if kind_of(line) == kind]
        got = [line.get(key) for line in other["lines"] if kind_of(line) == kind]
        if got != want:
            found.append(f"{path}: {got} where real has {want}")
    return found
