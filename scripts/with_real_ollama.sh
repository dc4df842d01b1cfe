#!/usr/bin/env bash
# Run a command (scripts/test.sh runs pytest) with real Ollama servers for it to test against.
# Usage: bash scripts/with_real_ollama.sh COMMAND [ARGS...]; exits with the command's status.
#
# Two releases: today's (../shared/real-ollama/start's default, 0.32.15), which the whole
# real-Ollama suite runs against, exported as WEBCHAT_TEST_OLLAMA_URL; and the older 0.24.0,
# which only the contract scenarios (tests/real/test_contract.py) also run against, exported as
# WEBCHAT_TEST_OLLAMA_URL_0_24. For each: when its variable is set, that server is used and
# nothing is started; otherwise, when ../shared/real-ollama/start (beside the repo) is
# executable, one server is started on a free loopback port (the two at once: starting
# 0.24.0 costs a few seconds, spent while 0.32.15 starts), and those servers, and only
# those, are stopped when the command ends, passes, fails or is interrupted. Each says which
# version it is (GET /api/version). Where shared/ is absent, WEBCHAT_TEST_REAL_OLLAMA_SKIP
# (and WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP) say why (pytest's skip reason). If a server fails
# to start, CI (CI=true) fails the run; elsewhere the command runs without it, and the
# failure is said loudly before and after it.
set -euo pipefail
cd "$(dirname "$0")/.."

REAL_OLLAMA=../shared/real-ollama
OLDER=0.24.0
# ports-VERSION holds the port of that release's server while one is started (or starting)
# here: what the EXIT trap stops. One file per release, as the older one starts in the
# background.
RUN_DIR=$(mktemp -d)
OLDER_JOB=""
NOTICES=()

stop_real_ollama() {
    if [ -n "$OLDER_JOB" ]; then  # a start under way ends first, so its server is stopped too
        wait "$OLDER_JOB" 2>/dev/null || true
        OLDER_JOB=""
    fi
    local file port stops=()
    for file in "$RUN_DIR"/ports-*; do  # both at once: a stop waits ~2 s for the exit
        [ -f "$file" ] || continue
        port=$(cat "$file")
        rm -f "$file"
        "$REAL_OLLAMA/stop" "$port" >/dev/null 2>&1 &
        stops+=($!)
    done
    local stop
    for stop in "${stops[@]}"; do
        wait "$stop" || true
    done
    rm -rf "$RUN_DIR"
    local notice
    for notice in "${NOTICES[@]}"; do
        echo "$notice" >&2
    done
    NOTICES=()
}
trap stop_real_ollama EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The version a server says it is, for the run's output.
version_at() {
    python3 - "$1" <<'PY' 2>/dev/null || echo "version unknown: /api/version did not answer"
import json, sys, urllib.request
print("Ollama " + json.load(urllib.request.urlopen(sys.argv[1] + "/api/version", timeout=10))["version"])
PY
}

# start_release VERSION: start that release (default: start's own, or the one
# WEBCHAT_REAL_OLLAMA_VERSION names) on a free port and print its URL. Up to three
# ports, in case another process takes the chosen one between the choice and the bind. The
# port is written down before each try, so a half-started server is stopped too.
start_release() {
    local version=$1 port output url
    for _ in 1 2 3; do
        port=$(free_port)
        echo "$port" > "$RUN_DIR/ports-$version"
        if output=$(if [ "$version" = default ]; then "$REAL_OLLAMA/start" "$port"
                    else WEBCHAT_REAL_OLLAMA_VERSION=$version "$REAL_OLLAMA/start" "$port"; fi 2>&1); then
            url=$(echo "$output" | sed -n 's/^OLLAMA_URL=//p' | tail -n 1)
            if [ -n "$url" ]; then
                echo "$url"
                return 0
            fi
        fi
        "$REAL_OLLAMA/stop" "$port" >/dev/null 2>&1 || true
        rm -f "$RUN_DIR/ports-$version"
        echo "real Ollama $version: start on port $port failed: $output" >&2
    done
    return 1
}

# A start that failed: said now and again at the end; in CI it fails the run.
start_failed() {
    local what=$1 skip_variable=$2
    local notice="real Ollama: FAILED TO START ($REAL_OLLAMA/start, $what); those tests did not run"
    export "$skip_variable=the real Ollama $what beside the repo failed to start"
    echo "$notice" >&2
    if [ "${CI:-}" = "true" ]; then
        echo "real Ollama: CI=true and shared/real-ollama is present, so this fails the run" >&2
        exit 1
    fi
    NOTICES+=("$notice")
}

START_OLDER=""
if [ -n "${WEBCHAT_TEST_OLLAMA_URL_0_24:-}" ]; then
    echo "real Ollama $OLDER (the contract): using WEBCHAT_TEST_OLLAMA_URL_0_24=$WEBCHAT_TEST_OLLAMA_URL_0_24 ($(version_at "$WEBCHAT_TEST_OLLAMA_URL_0_24"); nothing started)"
elif [ -x "$REAL_OLLAMA/start" ]; then
    START_OLDER=yes
    start_release "$OLDER" > "$RUN_DIR/url-$OLDER" 2> "$RUN_DIR/errors-$OLDER" &
    OLDER_JOB=$!
else
    export WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP="no $REAL_OLLAMA/start beside the repo and WEBCHAT_TEST_OLLAMA_URL_0_24 is not set"
fi

if [ -n "${WEBCHAT_TEST_OLLAMA_URL:-}" ]; then
    echo "real Ollama: using WEBCHAT_TEST_OLLAMA_URL=$WEBCHAT_TEST_OLLAMA_URL ($(version_at "$WEBCHAT_TEST_OLLAMA_URL"); nothing started)"
elif [ -x "$REAL_OLLAMA/start" ]; then
    echo "real Ollama: starting $REAL_OLLAMA/start on free loopback ports (today's release, and $OLDER for the contract)..."
    if URL=$(start_release default); then
        export WEBCHAT_TEST_OLLAMA_URL=$URL
        echo "real Ollama: $URL, $(version_at "$URL") (stopped when the run ends)"
    else
        start_failed "today's release" WEBCHAT_TEST_REAL_OLLAMA_SKIP
    fi
else
    export WEBCHAT_TEST_REAL_OLLAMA_SKIP="no $REAL_OLLAMA/start beside the repo and WEBCHAT_TEST_OLLAMA_URL is not set"
    echo "real Ollama: none ($WEBCHAT_TEST_REAL_OLLAMA_SKIP): those tests are skipped"
fi

if [ -n "$START_OLDER" ]; then
    OLDER_STATUS=0
    wait "$OLDER_JOB" || OLDER_STATUS=$?
    OLDER_JOB=""
    cat "$RUN_DIR/errors-$OLDER" >&2
    if [ "$OLDER_STATUS" -eq 0 ]; then
        export WEBCHAT_TEST_OLLAMA_URL_0_24
        WEBCHAT_TEST_OLLAMA_URL_0_24=$(cat "$RUN_DIR/url-$OLDER")
        echo "real Ollama $OLDER (the contract): $WEBCHAT_TEST_OLLAMA_URL_0_24, $(version_at "$WEBCHAT_TEST_OLLAMA_URL_0_24") (stopped when the run ends)"
    else
        start_failed "$OLDER" WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP
    fi
fi

"$@"
