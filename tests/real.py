"""Where the real Ollama is, for the tests that need one.

scripts/test.sh starts the real Ollama beside the repo (../shared/real-ollama) and sets
WEBCHAT_TEST_OLLAMA_URL; when it cannot, it says why in WEBCHAT_TEST_REAL_OLLAMA_SKIP, so
the skip reason in pytest's summary is the true one.
"""

from __future__ import annotations

import os

import pytest

REAL_URL: str | None = os.environ.get("WEBCHAT_TEST_OLLAMA_URL") or None
WHY_NOT = (os.environ.get("WEBCHAT_TEST_REAL_OLLAMA_SKIP")
           or "WEBCHAT_TEST_OLLAMA_URL is not set (scripts/test.sh sets it when "
              "../shared/real-ollama is beside the repo)")
SKIP_REASON = f"no real Ollama: {WHY_NOT}"

needs_real_ollama = [
    pytest.mark.real_ollama,
    pytest.mark.skipif(REAL_URL is None, reason=SKIP_REASON),
]
