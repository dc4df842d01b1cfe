"""Footprint: cold start, server memory idle and with 64 sessions, bytes of the first page.

    python bench/footprint.py [--starts 5] [--sessions 64]

- cold start: `python run.py --port 0 --data-dir <new tmp> --ollama-url <stand-in>` until
  `GET /` answers 200 (median of --starts; a new data folder each time, so the secret
  key and the SQLite file are created too; Python's own files are in the page cache).
- RSS (VmRSS of the server process, /proc/<pid>/status) after one page load and a
  second of quiet, then with --sessions browsers that each chatted once and still hold
  their socket open.
- first load of the page in Debian's Chromium (Playwright): every HTTP response's
  transferred size (headers + body, as the network stack counted it), the number of
  requests, and how many went to a host other than 127.0.0.1 (WebSockets included).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import _common
import requests
from _common import bench_line, median, target

from tests.support.live import BrowserClient


def wait_for_page(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer")
        time.sleep(0.005)


def cold_start_ms(fake_url: str, data_dir: Path) -> float:
    started = time.perf_counter()
    app, remote = _common.start_app(fake_url, data_dir)
    try:
        wait_for_page(remote.url)
        return (time.perf_counter() - started) * 1000
    finally:
        app.stop()


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def page_weight(url: str) -> dict[str, int]:
    """Load the page once in a fresh browser context and count what it fetched."""
    from playwright.sync_api import sync_playwright

    sizes: list[int] = []
    bodies: list[int] = []
    hosts: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_common.chromium_path(), headless=True,
                                    args=_common.CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.on("request", lambda r: hosts.append(urlsplit(r.url).hostname or r.url))
            page.on("websocket", lambda ws: hosts.append(urlsplit(ws.url).hostname or ws.url))

            def finished(request: object) -> None:
                measured = request.sizes()  # type: ignore[attr-defined]
                sizes.append(measured["responseHeadersSize"] + measured["responseBodySize"])
                bodies.append(measured["responseBodySize"])

            page.on("requestfinished", finished)
            page.goto(url + "/", wait_until="networkidle")
            page.wait_for_function(
                "document.querySelector('#connection-status')?.textContent === 'Connected'"
                " && document.querySelectorAll('#model-select option').length > 0")
            page.wait_for_timeout(1000)  # anything the page fetches right after startup
            context.close()
        finally:
            browser.close()
    return {"page_bytes": sum(sizes), "page_body_bytes": sum(bodies),
            "page_requests": len(sizes),
            "external_requests": sum(1 for host in hosts if host != "127.0.0.1")}


def main() -> int:
    parser = argparse.ArgumentParser(description="Start time, memory and page weight.")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=64)
    args = parser.parse_args()

    with _common.temp_dir("footprint") as tmp:
        fake, fake_url = _common.start_fake(token_delay=0.0)
        try:
            starts = [cold_start_ms(fake_url, tmp / f"cold{i}") for i in range(args.starts)]
            app, remote = _common.start_app(fake_url, tmp / "data", tmp / "app.log",
                                            env=_common.NO_LIMITS)
            try:
                wait_for_page(remote.url)
                time.sleep(1.0)
                idle_kb, _ = _common.rss_kb(app.pid)
                idle_threads = threads(app.pid)
                users = [BrowserClient(remote) for _ in range(args.sessions)]
                sockets = [user.socket() for user in users]
                failed = sum(1 for s in sockets if s.chat("hello there")[-1]["type"] != "done")
                time.sleep(0.5)
                busy_kb, peak_kb = _common.rss_kb(app.pid)
                busy_threads = threads(app.pid)
                for user in users:
                    user.close()
                weight = page_weight(remote.url)
            finally:
                app.stop()
        finally:
            fake.stop()

    cold = median(starts)
    print(f"footprint: cold starts {', '.join(f'{v:.0f}' for v in starts)} ms")
    print(f"  server RSS idle {idle_kb / 1024:.1f} MB ({idle_threads} threads); with "
          f"{args.sessions} sessions chatted once, sockets open: {busy_kb / 1024:.1f} MB "
          f"({busy_threads} threads), peak {peak_kb / 1024:.1f} MB; failed chats: {failed}")
    print(f"  first page load: {weight['page_requests']} requests, "
          f"{weight['page_bytes']} bytes ({weight['page_body_bytes']} bytes of bodies), "
          f"{weight['external_requests']} to other hosts")
    print(target("page < 300 KB", weight["page_bytes"] < 300 * 1024))
    print(target("no external host", weight["external_requests"] == 0))
    print(bench_line("footprint", cold_start_ms=cold, rss_idle_mb=idle_kb / 1024,
                     rss_64_sessions_mb=busy_kb / 1024, rss_peak_mb=peak_kb / 1024,
                     threads_idle=idle_threads, threads_64_sessions=busy_threads,
                     page_bytes=weight["page_bytes"], page_requests=weight["page_requests"],
                     external_requests=weight["external_requests"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
