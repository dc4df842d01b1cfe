"""Run every benchmark, one after the other, and print all their BENCH lines at the end.

    python bench/run_all.py [name ...]      (default: all, in the order below)

Each benchmark runs as its own process (`python bench/<name>.py`); its output is echoed
as it comes. The exit status is non-zero if any benchmark failed or printed no BENCH
line. Targets are printed, never enforced.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS = ("relay", "concurrency", "two_hosts", "footprint", "long_chat", "prompt_cache")


def load() -> str:
    """The 1-minute load average: anything else running makes these figures worse."""
    return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def run(name: str) -> tuple[int, list[str]]:
    print(f"=== {name} " + "=" * (60 - len(name)), flush=True)
    print(f"(load average before: {load()})", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(BENCH_DIR / f"{name}.py")],
                               cwd=BENCH_DIR.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("BENCH "):
            lines.append(line.rstrip("\n"))
    status = process.wait()
    print(f"--- {name}: exit {status}, {time.perf_counter() - started:.1f} s", flush=True)
    return status, lines


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; "
              f"choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results: list[str] = []
    failed: list[str] = []
    for name in names:
        status, lines = run(name)
        results += lines
        if status != 0 or not lines:
            failed.append(name)
    print(f"=== all BENCH lines ({time.perf_counter() - started:.0f} s) " + "=" * 36)
    for line in results:
        print(line)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
