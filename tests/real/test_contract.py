"""The stand-in Ollama held to the real one, release by release: the same scenarios.

Each scenario (tests/support/contract.py) is compared with a real Ollama's answer captured in
tests/captures/contract/VERSION/ (scripts/refresh_captures.py): status code, the order of the
kinds of lines in a stream, and the keys and JSON types of every object — not the values,
which vary (timings, digests, dates, the model's text), except the few each scenario names
in `same`. Paths where one release's shape varies run to run are in each scenario's
`allowed`, each with its reason. Where releases differ, each release's captures say how.

The stand-in runs as each release (FakeOllama(release=...)) against that release's captures,
always. The live halves check that the real servers still answer as captured (so the
captures, and with them the stand-in, stay true): the real Ollama scripts/test.sh starts
(0.32.15) and the older one it starts for this file alone (0.24.0,
WEBCHAT_TEST_OLLAMA_URL_0_24), each against the captures of the version it reports.
"""

from __future__ import annotations

import pytest

from ..support.contract import (
    RELEASES,
    SCENARIOS,
    Scenario,
    compare,
    recorded,
    release_differences,
    run,
    version_of,
)
from ..support.fake_ollama import FakeOllama
from ..support.real import OLDER_URL, REAL_URL, needs_older_ollama, needs_real_ollama

SERVERS = ([f"stand-in-{release}" for release in RELEASES]
           + [pytest.param("real", marks=needs_real_ollama),
              pytest.param("real-older", marks=needs_older_ollama)])


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_answers_match_the_real_ollama(scenario: Scenario, server: str) -> None:
    if server.startswith("stand-in-"):
        release = server.removeprefix("stand-in-")
        with FakeOllama(release=release) as fake:
            answer = run(fake.url, scenario)
    else:
        url = REAL_URL if server == "real" else OLDER_URL
        assert url is not None
        release = version_of(url)
        assert release in RELEASES, (f"Ollama {release} at {url} has no captures: capture "
                                     "it with scripts/refresh_captures.py")
        answer = run(url, scenario)
    assert compare(scenario, recorded(scenario, release), answer) == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_releases_differ_only_where_the_scenario_says(scenario: Scenario) -> None:
    """Every difference between the releases' captures is named, with its release, and
    nothing named is not one: a new release's change shows up here first."""
    named = {path: release for path, (release, _) in scenario.per_release.items()}
    assert release_differences(scenario) == named


def test_the_comparison_sees_a_difference() -> None:
    """A changed type, a missing key, an extra key and another status are all reported."""
    scenario = next(s for s in SCENARIOS if s.name == "chat-stream")
    real = recorded(scenario, RELEASES[0])
    final = dict(real["lines"][-1], eval_count="40", extra=1)
    del final["done_reason"]
    changed = {"status": 500, "lines": real["lines"][:-1] + [final]}
    found = compare(scenario, real, changed)
    assert found[0] == "status 500 where real has 200"
    assert "final.eval_count: string where real has number" in found
    assert "final.done_reason: missing" in found
    assert "final.extra: not in the real answer" in found
