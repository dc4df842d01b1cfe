"""The stand-in Ollama (tests/support/fake_ollama.py) as its own process, for the benchmarks.

`python bench/_fake_server.py --token-delay 0.02` prints the URL it listens on, then
serves until it is terminated or its stdin closes. It answers as Ollama 0.32.15 (the
stand-in's default) unless WEBCHAT_BENCH_RELEASE names another release, e.g. 0.24.0,
whose cache needs no warm-up after each reply (webchat/relay/cache_warm.py). Every reply
is the stand-in's default echo ("You said:" + one token per word of the last user
message), so a benchmark shapes a reply by the words it sends and needs no control
channel into this process.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import _common  # noqa: F401  (puts the repository root on sys.path)

from tests.support.fake_ollama import DEFAULT_RELEASE, FakeOllama, _Handler

_pause = _Handler._pause


def _paced(self: _Handler, seconds: float) -> None:
    """Keep a steady pace like a real model: token i leaves at start + i x delay, so the
    stand-in's own lateness under load (a sleep that wakes late, then the next one
    counted from there) does not pile up and get blamed on the app."""
    if seconds <= 0:
        return _pause(self, seconds)
    now = time.monotonic()
    due = getattr(self, "_due", None)
    due = (due if due is not None and now - due < 0.5 else now) + seconds
    self._due = due  # type: ignore[attr-defined]
    return _pause(self, max(0.0, due - now))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-delay", type=float, default=0.0,
                        help="seconds before each streamed token")
    parser.add_argument("--paced", action="store_true",
                        help="send token i at start + i x token delay (no drift under load)")
    args = parser.parse_args()
    if args.paced:
        _Handler._pause = _paced  # type: ignore[method-assign]
    fake = FakeOllama(release=os.environ.get("WEBCHAT_BENCH_RELEASE", DEFAULT_RELEASE))
    fake.token_delay = args.token_delay
    fake.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake ollama at {fake.url}", flush=True)
    try:
        sys.stdin.read()  # until our parent closes the pipe or terminates us
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
