"""The stand-in Ollama held to the real one: the same scenarios against both.

Each scenario (tests/contract.py) is compared with the real Ollama's answer captured in
tests/captures/contract/ (scripts/refresh_captures.py): status code, the order of the kinds
of lines in a stream, and the keys and JSON types of every object — not the values, which
vary (timings, digests, dates, the model's text), except the few each scenario names in
`same`. Paths where the real server's shape varies are in each scenario's `allowed`, each
with its reason. The stand-in half always runs; the real half checks that the live real
Ollama still answers as captured (so the captures, and with them the stand-in, stay true).
"""

from __future__ import annotations

import pytest

from .contract import SCENARIOS, Scenario, compare, recorded, run
from .real import REAL_URL, needs_real_ollama

SERVERS = ["stand-in", pytest.param("real", marks=needs_real_ollama)]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_answers_match_the_real_ollama(request, scenario: Scenario, server: str) -> None:
    url = REAL_URL if server == "real" else request.getfixturevalue("fake_ollama").url
    assert url is not None
    answer = run(url, scenario)
    assert compare(scenario, recorded(scenario), answer) == []


def test_the_comparison_sees_a_difference() -> None:
    """A changed type, a missing key, an extra key and another status are all reported."""
    scenario = next(s for s in SCENARIOS if s.name == "chat-stream")
    real = recorded(scenario)
    final = dict(real["lines"][-1], eval_count="40", extra=1)
    del final["done_reason"]
    changed = {"status": 500, "lines": real["lines"][:-1] + [final]}
    found = compare(scenario, real, changed)
    assert found[0] == "status 500 where real has 200"
    assert "final.eval_count: string where real has number" in found
    assert "final.done_reason: missing" in found
    assert "final.extra: not in the real answer" in found
