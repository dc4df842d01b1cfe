"""scripts/with_real_ollama.sh, which scripts/test.sh runs pytest under: it starts the real
Ollama beside the repo (today's release, and 0.24.0 for the contract scenarios), says which
versions they are, and stops those two only, however the run ends.

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

from .support.fake_ollama import FakeOllama
from .support.live import ROOT, wait_until

STUB_START = """#!/usr/bin/env bash
VERSION=${WEBCHAT_REAL_OLLAMA_VERSION:-default}
echo "start $1 $VERSION" >> "$STUB_LOG"
case " ${STUB_START_FAILS:-} " in *" $VERSION "*) echo "no luck" >&2; exit 1 ;; esac
echo "OLLAMA_URL=http://127.0.0.1:$1"
"""
STUB_STOP = """#!/usr/bin/env bash
echo "stop $1" >> "$STUB_LOG"
"""
# What the wrapped command reports: the variables it was given; exits with its argument.
REPORT = ("import os, sys, time; e = os.environ.get;"
          "print('URL=' + e('WEBCHAT_TEST_OLLAMA_URL', ''));"
          "print('OLDER=' + e('WEBCHAT_TEST_OLLAMA_URL_0_24', ''));"
          "print('SKIP=' + e('WEBCHAT_TEST_REAL_OLLAMA_SKIP', ''));"
          "print('OLDER_SKIP=' + e('WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP', ''), flush=True);"
          "time.sleep(float(sys.argv[2])); sys.exit(int(sys.argv[1]))")
OURS = ("CI", "WEBCHAT_TEST_OLLAMA_URL", "WEBCHAT_TEST_REAL_OLLAMA_SKIP",
        "WEBCHAT_TEST_OLLAMA_URL_0_24", "WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP",
        "WEBCHAT_REAL_OLLAMA_VERSION")


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
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    done = subprocess.run(["bash", str(script), sys.executable, "-c", REPORT, str(code),
                           str(sleep)], env={**clean, "STUB_LOG": str(log), **env},
                          capture_output=True, text=True, timeout=60)
    return done, log.read_text().split("\n")[:-1] if log.exists() else []


def started(calls: list[str]) -> dict[str, str]:
    """{version asked for: port} of each start in the calls (default: start's own)."""
    return {call.split()[2]: call.split()[1] for call in calls if call.startswith("start")}


def test_starts_both_releases_exports_their_urls_and_stops_them_with_the_status(tmp_path):
    done, calls = run(tmp_path, code=3)
    assert done.returncode == 3  # a failing run fails, and still stops the servers
    ports = started(calls)
    assert sorted(ports) == ["0.24.0", "default"] and len(set(ports.values())) == 2
    assert sorted(calls) == sorted([f"start {port} {version}" for version, port
                                    in ports.items()] + [f"stop {p}" for p in ports.values()])
    assert calls.index(f"stop {ports['default']}") > 1  # stopped after both started
    assert f"URL=http://127.0.0.1:{ports['default']}\n" in done.stdout
    assert f"OLDER=http://127.0.0.1:{ports['0.24.0']}\n" in done.stdout
    # the stand-in start scripts serve nothing, so no version could be asked
    assert done.stdout.count("version unknown: /api/version did not answer") == 2


def test_given_urls_are_used_nothing_started_and_their_versions_said(tmp_path):
    with FakeOllama() as today, FakeOllama(release="0.24.0") as older:
        done, calls = run(tmp_path, WEBCHAT_TEST_OLLAMA_URL=today.url,
                          WEBCHAT_TEST_OLLAMA_URL_0_24=older.url)
    assert done.returncode == 0 and calls == []
    assert f"URL={today.url}\n" in done.stdout and f"OLDER={older.url}\n" in done.stdout
    assert f"WEBCHAT_TEST_OLLAMA_URL={today.url} (Ollama 0.32.15; nothing started)" in done.stdout
    assert (f"WEBCHAT_TEST_OLLAMA_URL_0_24={older.url} (Ollama 0.24.0; nothing started)"
            in done.stdout)


def test_a_given_url_still_gets_the_older_release_started(tmp_path):
    done, calls = run(tmp_path, WEBCHAT_TEST_OLLAMA_URL="http://127.0.0.1:11500")
    assert done.returncode == 0 and sorted(started(calls)) == ["0.24.0"]
    assert "URL=http://127.0.0.1:11500\n" in done.stdout
    assert calls[-1] == f"stop {started(calls)['0.24.0']}"


def test_without_shared_the_skip_reasons_say_why(tmp_path):
    done, calls = run(tmp_path, with_shared=False)
    assert done.returncode == 0 and calls == []
    assert "SKIP=no ../shared/real-ollama/start beside the repo" in done.stdout
    assert "OLDER_SKIP=no ../shared/real-ollama/start beside the repo" in done.stdout


def test_a_failed_start_is_said_loudly_and_fails_ci(tmp_path):
    done, calls = run(tmp_path, STUB_START_FAILS="default 0.24.0")
    assert done.returncode == 0  # on a dev machine the run goes on without them...
    assert "SKIP=the real Ollama today's release beside the repo failed to start" in done.stdout
    assert "OLDER_SKIP=the real Ollama 0.24.0 beside the repo failed to start" in done.stdout
    assert done.stderr.count("real Ollama: FAILED TO START") == 4  # ...said before and after
    for version in ("default", "0.24.0"):  # each try cleaned up, and nothing stopped twice
        ports = [c.split()[1] for c in calls if c.endswith(f" {version}")]
        assert len(ports) == 3
        assert [c for c in calls if c.split()[1] in ports] == [
            f"{what} {port}{' ' + version if what == 'start' else ''}"
            for port in ports for what in ("start", "stop")]
    reset(tmp_path)
    done, calls = run(tmp_path, STUB_START_FAILS="default", CI="true")
    assert done.returncode == 1 and "URL=" not in done.stdout  # in CI it fails the run
    assert "CI=true" in done.stderr
    assert f"stop {started(calls)['0.24.0']}" in calls  # and stops the one that started


def test_a_failed_start_of_the_older_release_fails_ci_too(tmp_path):
    done, calls = run(tmp_path, STUB_START_FAILS="0.24.0", CI="true")
    assert done.returncode == 1 and "URL=" not in done.stdout
    assert "FAILED TO START (../shared/real-ollama/start, 0.24.0)" in done.stderr
    assert f"stop {started(calls)['default']}" in calls


def reset(tmp_path: Path) -> None:
    (tmp_path / "calls.log").unlink()
    shutil.rmtree(tmp_path / "repo")
    shutil.rmtree(tmp_path / "shared")


def test_an_interrupted_run_stops_the_server(tmp_path):
    script = layout(tmp_path)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if k not in OURS}
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
    assert wait_until(lambda: len(log.read_text().split("\n")) == 5)  # 4 calls
    calls = log.read_text().split("\n")[:-1]
    assert sorted(c for c in calls if c.startswith("stop")) == sorted(
        f"stop {port}" for port in started(calls).values())
