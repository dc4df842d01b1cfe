#!/usr/bin/env bash
# Run a command (scripts/test.sh runs pytest) with a real Ollama for it to test against.
# Usage: bash scripts/with_real_ollama.sh COMMAND [ARGS...]; exits with the command's status.
#
# When WEBCHAT_TEST_OLLAMA_URL is set, the command uses that server and nothing is started.
# Otherwise, when ../shared/real-ollama/start (beside the repo) is executable, one server is
# started on a free loopback port, WEBCHAT_TEST_OLLAMA_URL is exported, and that server, and
# only that one, is stopped when the command ends, passes, fails or is interrupted. Where
# shared/ is absent, WEBCHAT_TEST_REAL_OLLAMA_SKIP says why (pytest's skip reason). If the
# server fails to start, CI (CI=true) fails the run; elsewhere the command runs without it,
# and the failure is said loudly before and after it.
set -euo pipefail
cd "$(dirname "$0")/.."

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

"$@"
