"""Two Ollama hosts behind one app: many browsers streaming at once, and what it costs.

Two stand-ins (each behind its own timestamping tap, bench/_tap.py), the app given both
(`--ollama-url h0=...,h1=...`), and N browsers each streaming 500 tokens at 50 tokens/s,
the chats split between the hosts by the app's routing. The stand-ins keep a steady pace
(token i at start + i x 20 ms, `_fake_server.py --paced`), as a model on its own GPU
would, so a stream that ends late was made late by the app. Measured at 128 browsers
(the main figures) and, with `--sweep`, also at 64 and 256 (the default socket limit):

- every stream whole and in order; the added delay per token, p50 and p99 (as in
  concurrency.py);
- the app's CPU time (user + system, /proc/<pid>/stat) over the streaming, divided by
  the tokens relayed: `cpu_us_per_token`;
- how late the slowest stream ended against its ideal (500 x 20 ms = 10 s).

- `cpu_us_per_token_whole`: the same CPU counted from the app's start (what a reading of
  /proc at the end gives: also start-up, warm-up, page loads, handshakes, first
  exchanges), and `--deflate` has the clients offer permessage-deflate as browsers do;
  both are why another measurement of this relay read 53 us (bench/README.md).

    python bench/two_hosts.py [--clients 128] [--sweep] [--deflate]
"""

from __future__ import annotations

import argparse
import os
import sys

import _common  # noqa: F401  (puts the repository root on sys.path)
from _common import bench_line, percentile, target
from concurrency import describe, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as Chromium and Firefox do")
    parser.add_argument("--sweep", action="store_true",
                        help="also run 64 and 256 browsers (CPU per token at each)")
    args = parser.parse_args()
    counts = sorted({64, args.clients, 256}) if args.sweep else [args.clients]
    results = {}
    for clients in counts:
        load = os.getloadavg()[0]
        r = results[clients] = run(clients, args.tokens, args.delay, hosts=2, paced=True,
                                   deflate=args.deflate)
        print(f"two hosts (load average {load:.2f} before): " + "\n".join(describe(r)),
              flush=True)
    main_run = results[args.clients]
    p50 = percentile(main_run["delays"], 50) * 1000
    p99 = percentile(main_run["delays"], 99) * 1000
    print(target("every stream whole and in order",
                 all(r["complete"] == r["in_order"] == r["clients"] for r in results.values())))
    print(target(f"added delay p99 < 50 ms at {args.clients}", p99 < 50))
    print(target(f"<= 40 us per token at {args.clients}",
                 main_run["cpu_us_per_token"] <= 40))
    figures = {
        "clients": args.clients, "tokens": args.tokens, "hosts": 2,
        "complete": main_run["complete"], "in_order": main_run["in_order"],
        "added_p50_ms": p50, "added_p99_ms": p99,
        "cpu_us_per_token": main_run["cpu_us_per_token"],
        "cpu_us_per_token_whole": main_run["cpu_us_per_token_whole"],
        "deflate": int(args.deflate),
        "slowest_end_ratio": max(main_run["ends"], default=0) / main_run["ideal_s"],
    }
    for clients, r in results.items():
        if clients != args.clients:
            figures[f"cpu_us_per_token_{clients}"] = r["cpu_us_per_token"]
            figures[f"complete_{clients}"] = r["complete"]
            figures[f"added_p99_ms_{clients}"] = percentile(r["delays"], 99) * 1000
            figures[f"slowest_end_ratio_{clients}"] = (max(r["ends"], default=0)
                                                       / r["ideal_s"])
    if 256 in results:
        print(target("at 256 every stream ends within 15% of its ideal time",
                     results[256]["complete"] == 256
                     and figures.get("slowest_end_ratio_256", 9) <= 1.15))
    figures["load_avg"] = os.getloadavg()[0]
    print(bench_line("two_hosts", **figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
