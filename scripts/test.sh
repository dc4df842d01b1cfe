#!/usr/bin/env bash
# The one command that runs the tests: installs what they need, starts a real Ollama when
# one is at hand, then runs them.
# Usage: bash scripts/test.sh [pytest arguments]
#
# Real Ollama: when WEBCHAT_TEST_OLLAMA_URL is set, the tests use that server and nothing is
# started. Otherwise, when ../shared/real-ollama/start exists beside the repo, one server is
# started on a free loopback port for the whole run and stopped (only that one) when the
# run ends, passes, fails or is interrupted. Where shared/ is absent the real-Ollama tests
# are skipped and pytest's summary says why. If the server fails to start, CI (CI=true)
# fails the run; elsewhere the run goes on with those tests skipped, saying so loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests..."
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python3 -m ruff check webchat tests bench run.py scripts

REAL_OLLAMA=../shared/real-ollama
STARTED_PORT=""
NOTICE=""

stop_real_ollama() {
    if [ -n "$STARTED_PORT" ]; then
        "$REAL_OLLAMA/stop" "$STARTED_PORT" >/dev/null 2>&1 || true
        STARTED_PORT=""
    fi
    if [ -n "$NOTICE" ]; then
        echo "$NOTICE" >&2
    fi
}
trap stop_real_ollama EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start the real Ollama on a free port and set URL. Up to three ports, in case another
# process takes the chosen one between the choice and the bind. Runs in this shell (not in
# a $(...) subshell), so STARTED_PORT is known to the EXIT trap even mid-start.
start_real_ollama() {
    local port output
    for _ in 1 2 3; do
        port=$(free_port)
        STARTED_PORT=$port  # set first: a half-started server is stopped too
        if output=$("$REAL_OLLAMA/start" "$port" 2>&1); then
            URL=$(echo "$output" | sed -n 's/^OLLAMA_URL=//p' | tail -n 1)
            [ -n "$URL" ] && return 0
        fi
        "$REAL_OLLAMA/stop" "$port" >/dev/null 2>&1 || true
        STARTED_PORT=""
        echo "real Ollama: start on port $port failed: $output" >&2
    done
    return 1
}

if [ -n "${WEBCHAT_TEST_OLLAMA_URL:-}" ]; then
    echo "real Ollama: using WEBCHAT_TEST_OLLAMA_URL=$WEBCHAT_TEST_OLLAMA_URL (nothing started)"
elif [ -x "$REAL_OLLAMA/start" ]; then
    echo "real Ollama: starting $REAL_OLLAMA/start on a free loopback port..."
    if start_real_ollama; then
        export WEBCHAT_TEST_OLLAMA_URL=$URL
        echo "real Ollama: $URL (stopped when the run ends)"
    else
        NOTICE="real Ollama: FAILED TO START ($REAL_OLLAMA/start); the real-Ollama tests did not run"
        export WEBCHAT_TEST_REAL_OLLAMA_SKIP="the real Ollama beside the repo failed to start"
        echo "$NOTICE" >&2
        if [ "${CI:-}" = "true" ]; then
            echo "real Ollama: CI=true and shared/real-ollama is present, so this fails the run" >&2
            NOTICE=""
            exit 1
        fi
    fi
else
    export WEBCHAT_TEST_REAL_OLLAMA_SKIP="no $REAL_OLLAMA/start beside the repo and WEBCHAT_TEST_OLLAMA_URL is not set"
    echo "real Ollama: none ($WEBCHAT_TEST_REAL_OLLAMA_SKIP): those tests are skipped"
fi

python3 -m pytest "$@"
