#!/usr/bin/env bash
# The one command that runs the tests: installs what they need, starts a real Ollama when
# one is at hand (scripts/with_real_ollama.sh says how), then runs them.
# Usage: bash scripts/test.sh [pytest arguments]
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

# axe-core checks the page's accessibility inside Chromium (tests/test_browser_app.py).
# A test-only tool: installed into the git-ignored tests/js, never served with the page.
if ! command -v npm >/dev/null 2>&1; then
    echo "Installing Debian's npm for the accessibility tests..."
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
if [ ! -f tests/js/node_modules/axe-core/axe.min.js ]; then
    npm install --no-save --no-audit --no-fund --silent --prefix tests/js axe-core@4
fi
python3 -m ruff check webchat tests bench run.py scripts

exec bash scripts/with_real_ollama.sh python3 -m pytest "$@"
