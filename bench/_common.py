"""What the benchmarks share: processes on loopback, clients, and the BENCH line.

Importing this module puts the repository root on sys.path, so a benchmark run as
`python bench/<name>.py` can import `tests.support.live`, `tests.support.fake_ollama` and `webchat`.
Not a benchmark itself (run_all.py only runs the names it lists).
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL = "gemma3:270m"  # one of the stand-in's models
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


# -- figures ---------------------------------------------------------------------------

def bench_line(name: str, **values: Any) -> str:
    """`BENCH <name> key=value ...`: what run_all.py and other scripts read."""
    parts = [f"{key}={_number(value)}" for key, value in values.items()]
    return " ".join(["BENCH", name, *parts])


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else math.nan


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    data = sorted(values)
    if not data:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[rank - 1]


def target(label: str, ok: bool) -> str:
    return f"  target {label}: {'met' if ok else 'NOT met'}"


# -- processes -------------------------------------------------------------------------

@dataclass
class Remote:
    """Where an app process listens; enough for tests.support.live.BrowserClient."""

    url: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http"):] + "/ws"


class Child:
    """A process this benchmark started; stopped by its own pid only."""

    def __init__(self, args: list[str], log: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self._log: IO[bytes] | None = open(log, "wb") if log else None
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            stderr=self._log if self._log else subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read_line_with(self, marker: str, timeout: float = 20.0) -> str:
        """The first stdout line containing `marker` (the process prints its URL)."""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.proc.args!r} exited before printing {marker!r}")
            if marker in line:
                return line.strip()
        raise TimeoutError(f"{self.proc.args!r} did not print {marker!r}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe:
                pipe.close()
        if self._log:
            self._log.close()


def _url_in(line: str) -> str:
    start = line.index("http://")
    return line[start:].split()[0].rstrip("/")


def start_fake(token_delay: float = 0.0, paced: bool = False) -> tuple[Child, str]:
    """The stand-in Ollama in its own process (so it does not share our GIL)."""
    child = Child([sys.executable, str(BENCH_DIR / "_fake_server.py"),
                   "--token-delay", str(token_delay), *(["--paced"] if paced else [])])
    return child, _url_in(child.read_line_with("http://"))


# A benchmark sends far more messages per browser than a person could; the app's
# per-browser limit (an environment variable, ignored by versions without it) is lifted.
NO_LIMITS = {"WEBCHAT_MESSAGES_PER_MINUTE": "1000000"}
NO_LIMITS_CONFIG = {"MESSAGES_PER_MINUTE": 1_000_000}  # the same, for an in-process app


def start_app(ollama_url: str, data_dir: Path, log: Path | None = None,
              env: dict[str, str] | None = None) -> tuple[Child, Remote]:
    """`python run.py` exactly as a user starts it, on a free loopback port."""
    child = Child([sys.executable, str(ROOT / "run.py"), "--host", "127.0.0.1",
                   "--port", "0", "--data-dir", str(data_dir), "--ollama-url", ollama_url],
                  log=log, env=env)
    return child, Remote(_url_in(child.read_line_with("running at")))


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"webchat-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB, from /proc/<pid>/status."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


# -- browser ---------------------------------------------------------------------------

def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("chromium is not installed (apt install chromium)")
    return path


# -- clients ---------------------------------------------------------------------------

def deflate_socket(url: str, cookie: str) -> Any:
    """A ChatSocket that offers permessage-deflate, as Chromium and Firefox do."""
    from simple_websocket import ConnectionError as HandshakeError
    from wsproto.events import AcceptConnection, Request
    from wsproto.extensions import PerMessageDeflate

    from tests.support.live import ChatSocket, WebSocketClient

    class DeflateClient(WebSocketClient):
        def handshake(self) -> None:
            if self.port not in (80, 443) and ":" not in self.host:
                self.host = f"{self.host}:{self.port}"
            self.sock.send(self.ws.send(Request(
                host=self.host, target=self.path, extra_headers=self.extra_headeers,
                extensions=[PerMessageDeflate()])))
            event = None
            while event is None:
                self.ws.receive_data(self.sock.recv(self.receive_bytes))
                event = next(self.ws.events(), None)
            if not isinstance(event, AcceptConnection):
                raise HandshakeError(400)
            self.compressed = bool(event.extensions)
            self.connected = True

    socket = ChatSocket.__new__(ChatSocket)
    socket.ws = DeflateClient.connect(url, headers={"Cookie": cookie})
    return socket
