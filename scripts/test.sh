#!/usr/bin/env bash
# The one command that runs the tests: installs what they need, starts a real Ollama when
# one is at hand (scripts/with_real_ollama.sh says how), then runs them.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs a Debian package when its command is missing: apt_install COMMAND PACKAGE WHY
apt_install() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "Installing Debian's $2 for $3..."
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}

apt_install chromium chromium "the browser tests"

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# axe-core checks the page's accessibility inside Chromium (tests/test_browser_app.py).
# A test-only tool: installed into the git-ignored tests/js, never served with the page.
apt_install npm npm "the accessibility tests"
if [ ! -f tests/js/node_modules/axe-core/axe.min.js ]; then
    npm install --no-save --no-audit --no-fund --silent --prefix tests/js axe-core@4
fi
python3 -m ruff check webchat tests bench run.py scripts

exec bash scripts/with_real_ollama.sh python3 -m pytest "$@"
