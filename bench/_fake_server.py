"""The stand-in Ollama (tests/fake_ollama.py) as its own process, for the benchmarks.

`python bench/_fake_server.py --token-delay 0.02` prints the URL it listens on, then
serves until it is terminated or its stdin closes. Every reply is the stand-in's default
echo ("You said:" + one token per word of the last user message), so a benchmark shapes
a reply by the words it sends and needs no control channel into this process.
"""

from __future__ import annotations

import argparse
import signal
import sys

import _common  # noqa: F401  (puts the repository root on sys.path)

from tests.fake_ollama import FakeOllama


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-delay", type=float, default=0.0,
                        help="seconds before each streamed token")
    args = parser.parse_args()
    fake = FakeOllama()
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
