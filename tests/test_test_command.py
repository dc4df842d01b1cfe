"""scripts/with_real_ollama.sh, which scripts/test.sh runs pytest under: it starts the real
Ollama beside the repo, and stops that one only, however the run ends.

Run here in a copy of the repo's layout with stand-in start/stop scripts that record what
they were asked to do, so nothing real is started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .live import ROOT, wait_until

STUB_START = """#!/usr/bin/env bash
echo "start $1" >> "$STUB_LOG"
if [ -n "${STUB_START_FAILS:-}" ]; then echo "no luck" >&2; exit 1; fi
echo "OLLAMA_URL=http://127.0.0.1:$1"
"""
STUB_STOP = """#!/usr/bin/env bash
echo "stop $1" >> "$STUB_LOG"
"""
# What the wrapped command reports: the variables it was given; exits with its argument.
REPORT = ("import os, sys, time; print('URL=' + os.environ.get('WEBCHAT_TEST_OLLAMA_URL', ''));"
          "print('SKIP=' + os.environ.get('WEBCHAT_TEST_REAL_OLLAMA_SKIP', ''), flush=True);"
          "time.sleep(float(sys.argv[2])); sys.exit(int(sys.argv[1]))")


def layout(tmp_path: Path, with_shared: bool = True) -> Path:
    """tmp/repo/scripts/with_real_ollama.sh and, beside the repo, tmp/shared/real-ollama."""
    scripts = tmp_path / "repo" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "with_real_ollama.sh", scripts)
    if with_shared:
        real = tmp_path / "shared" / "real-ollama"
        real.mkdir(parents=True)
        for name, text in (("start", STUB_START), ("stop", STUB_STOP)):
            (real / name).write_text(text)
            (real / name).chmod(0o755)
    return scripts / "with_real_ollama.sh"


def run(tmp_path: Path, code: int = 0, sleep: float = 0.0, with_shared: bool = True,
        **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    script = layout(tmp_path, with_shared)
    log = tmp_path / "calls.log"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("CI", "WEBCHAT_TEST_OLLAMA_URL", "WEBCHAT_TEST_REAL_OLLAMA_SKIP")}
    done = subprocess.run(["bash", str(script), sys.executable, "-c", REPORT, str(code),
                           str(sleep)], env={**clean, "STUB_LOG": str(log), **env},
                          capture_output=True, text=True, timeout=60)
    return done, log.read_text().split("\n")[:-1] if log.exists() else []


def test_starts_one_server_exports_its_url_and_stops_it_with_the_commands_status(tmp_path):
    done, calls = run(tmp_path, code=3)
    assert done.returncode == 3  # a failing run fails, and still stops the server
    port = calls[0].split()[1]
    assert calls == [f"start {port}", f"stop {port}"]
    assert f"URL=http://127.0.0.1:{port}\n" in done.stdout


def test_a_given_url_is_used_and_nothing_started(tmp_path):
    done, calls = run(tmp_path, WEBCHAT_TEST_OLLAMA_URL="http://127.0.0.1:11500")
    assert done.returncode == 0 and calls == []
    assert "URL=http://127.0.0.1:11500\n" in done.stdout


def test_without_shared_the_skip_reason_says_why(tmp_path):
    done, calls = run(tmp_path, with_shared=False)
    assert done.returncode == 0 and calls == []
    assert "SKIP=no ../shared/real-ollama/start beside the repo" in done.stdout


def test_a_failed_start_is_said_loudly_and_fails_ci(tmp_path):
    done, calls = run(tmp_path, STUB_START_FAILS="1")
    assert done.returncode == 0  # on a dev machine the run goes on without it...
    assert "SKIP=the real Ollama beside the repo failed to start" in done.stdout
    assert done.stderr.count("real Ollama: FAILED TO START") == 2  # ...said before and after
    assert [c.split()[0] for c in calls] == ["start", "stop"] * 3  # each try cleaned up
    (tmp_path / "calls.log").unlink()
    shutil.rmtree(tmp_path / "repo")
    shutil.rmtree(tmp_path / "shared")
    done, calls = run(tmp_path, STUB_START_FAILS="1", CI="true")
    assert done.returncode == 1 and "URL=" not in done.stdout  # in CI it fails the run
    assert "CI=true" in done.stderr


def test_an_interrupted_run_stops_the_server(tmp_path):
    script = layout(tmp_path)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "WEBCHAT_TEST_OLLAMA_URL")}
    process = subprocess.Popen(["bash", str(script), sys.executable, "-c", REPORT, "0", "60"],
                               env={**env, "STUB_LOG": str(log)}, stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        while not process.stdout.readline().startswith("URL="):
            pass  # the wrapper's own lines, then the command's: it is running now
        os.killpg(process.pid, signal.SIGTERM)  # as a CI timeout stops the whole group
        assert process.wait(timeout=30) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert wait_until(lambda: len(log.read_text().split()) == 4)
    start, stop = log.read_text().split("\n")[:2]
    assert stop == start.replace("start", "stop")
