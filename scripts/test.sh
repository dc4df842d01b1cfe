#!/usr/bin/env bash
# The one command that runs the tests: installs what they need, starts a real Ollama when
# one is at hand (scripts/with_real_ollama.sh says how), then runs them.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs Debian packages whose commands are missing, with one `apt-get update` for all:
# apt_install "COMMAND PACKAGE WHY" ...
apt_install() {
    local wanted=() entry command package why
    for entry in "$@"; do
        read -r command package why <<<"$entry"
        command -v "$command" >/dev/null 2>&1 && continue
        echo "Installing Debian's $package for $why..."
        wanted+=("$package")
    done
    [ ${#wanted[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${wanted[@]}" >/dev/null
}

# The browsers the page is tested in (Chromium and Firefox through Playwright, WebKit
# through Selenium in an Xvfb display: tests/support/engines.py), and npm for axe-core below.
# About 650 MB and a minute on a new machine.
apt_install "chromium chromium the browser tests" \
    "firefox-esr firefox-esr the browser tests in Firefox" \
    "WebKitWebDriver webkit2gtk-driver the WebKit test" \
    "Xvfb xvfb the WebKit test's display" \
    "npm npm the accessibility tests"

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# axe-core checks the page's accessibility in the browsers (tests/browser/test_browser_app.py).
# A test-only tool: installed into the git-ignored tests/js, never served with the page.
if [ ! -f tests/js/node_modules/axe-core/axe.min.js ]; then
    npm install --no-save --no-audit --no-fund --silent --prefix tests/js axe-core@4
fi
python3 -m ruff check webchat tests bench run.py scripts

exec bash scripts/with_real_ollama.sh python3 -m pytest "$@"
