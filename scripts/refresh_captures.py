"""Regenerate tests/captures/ from a real Ollama, so the tests replay today's shapes.

    python3 scripts/refresh_captures.py [OLLAMA_URL] [--contract-only]
    (OLLAMA_URL defaults to $WEBCHAT_TEST_OLLAMA_URL)

Start one with ../shared/real-ollama/start PORT (0.32.15; WEBCHAT_REAL_OLLAMA_VERSION=0.24.0
for the older release). It writes, under contract/VERSION/ (VERSION from /api/version), the
real answer to every scenario of tests/support/contract.py, and, unless --contract-only, the raw
bodies the replay tests stream from the stand-in (chat-stream*.ndjson,
generate-stream.ndjson, tags.json, ps-two-loaded.json). Those come from the release the
stand-in models by default (tests/support/contract.py DEFAULT_RELEASE): refresh them from that one,
and only the contract answers from the others. The text is a 270M base model's, poor by
design: tests use the shapes, counts and order, never the wording.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.contract import DEFAULT_RELEASE, SCENARIOS, capture_path, run  # noqa: E402

CAPTURES = ROOT / "tests" / "captures"
GEMMA, TINY = "gemma3:270m", "tiny-assistant:latest"
QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]
COUNTING = [{"role": "user", "content": "Count from 1 to 500, one number per line."}]

README = """\
Raw responses from a real Ollama {version} (CPU only, Gemma 3 270M base model, so the text is
poor), captured on loopback by scripts/refresh_captures.py (run it again to refresh them).
The stand-in Ollama replays them in tests to prove the client parses what Ollama really
sends. Each `.ndjson` file is one streamed response body, one JSON object per line, the
last line carrying `done: true` and the stats.
- chat-stream.ndjson: `/api/chat`, 40 tokens (`num_predict` 40, `done_reason` "length").
- chat-stream-200.ndjson: `/api/chat`, 200 tokens.
- generate-stream.ndjson: `/api/generate`, 30 tokens; its last line has `context`.
- ps-two-loaded.json: `/api/ps` with two models loaded (`size_vram` 0 on CPU).
- tags.json: `/api/tags` with two installed models.
- contract/VERSION/NAME.json: the request and the real answer (status and lines) of each
  scenario in tests/support/contract.py, per release (0.32.15 and 0.24.0, refreshed with
  --contract-only from the older one), which tests/real/test_contract.py holds the stand-in to
  (in that release's mode) and the live real servers of those releases.
"""


def raw(url: str, method: str, path: str, body: dict | None = None) -> bytes:
    response = requests.request(method, url + path, json=body, timeout=300)
    response.raise_for_status()
    return response.content


def stream(url: str, path: str, body: dict, tokens: int) -> bytes:
    """A streamed body of exactly `tokens` token lines (retried once if it stopped early)."""
    for _ in range(2):
        content = raw(url, "POST", path, {**body, "options": {"num_predict": tokens}})
        final = json.loads(content.splitlines()[-1])
        if final.get("eval_count") == tokens:
            return content
        body = {**body, "messages": COUNTING} if "messages" in body else {
            **body, "prompt": COUNTING[0]["content"]}
    raise SystemExit(f"{path}: the model stopped before {tokens} tokens twice")


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--contract-only"]
    contract_only = len(args) < len(sys.argv) - 1
    url = (args[0] if args else os.environ.get("WEBCHAT_TEST_OLLAMA_URL", ""))
    if not url:
        raise SystemExit(__doc__)
    url = url.rstrip("/")
    version = json.loads(raw(url, "GET", "/api/version"))["version"]
    if not contract_only and version != DEFAULT_RELEASE:
        raise SystemExit(f"Ollama {version}: the replay captures come from {DEFAULT_RELEASE}, "
                         "the release the stand-in models by default; add --contract-only")
    files: dict[str, bytes] = {}
    if not contract_only:
        files = {
            "tags.json": raw(url, "GET", "/api/tags"),
            "chat-stream.ndjson": stream(url, "/api/chat",
                                         {"model": GEMMA, "messages": QUESTION}, 40),
            "chat-stream-200.ndjson": stream(url, "/api/chat",
                                             {"model": GEMMA, "messages": COUNTING}, 200),
            "generate-stream.ndjson": stream(
                url, "/api/generate", {"model": GEMMA, "prompt": QUESTION[0]["content"]}, 30),
        }
        for model in (GEMMA, TINY):
            raw(url, "POST", "/api/generate", {"model": model})  # load, as `ollama run` does
        files["ps-two-loaded.json"] = raw(url, "GET", "/api/ps")
        for name, content in files.items():
            (CAPTURES / name).write_bytes(content)  # verbatim: the replay tests send these
        (CAPTURES / "README.md").write_text(README.format(version=version))
    for scenario in SCENARIOS:
        answer = run(url, scenario)
        record = {"version": version,
                  "request": {"method": scenario.method, "path": scenario.path,
                              "body": scenario.body, "before": scenario.before},
                  "answer": answer}
        path = capture_path(scenario, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"Ollama {version}: wrote {len(files) + bool(files)} files in {CAPTURES} and "
          f"{len(SCENARIOS)} contract answers in {capture_path(SCENARIOS[0], version).parent}")


if __name__ == "__main__":
    main()
