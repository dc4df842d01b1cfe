"""Ollama's prompt cache: the window in steps against the seed's sliding window.

The same multi-turn chat (the same questions, a system prompt, `--max-history 6`) goes
through the app in two conversations, one per trim policy, turn by turn, each on its own
model (gemma3:270m and tiny-assistant:latest, the same weights in two runners, swapped
every round), and this sums the `prompt_eval_duration` Ollama reports for turns 5-14,
once the conversation is longer than the window. Ollama
re-reads only what follows the longest common prefix with the model's last prompt, so a
window whose start stays put costs only the new question on most turns.

Against the stand-in by default (it charges prompt time for the uncached tokens only, as a
real runner does); against a real Ollama when WEBCHAT_TEST_OLLAMA_URL is set. Use an
Ollama of your own: another client's request between two turns empties the cache.
Every request is checked to hold at least the last `max_history` messages.

On Ollama 0.30+ the app reads each reply into the cache after it ends (webchat/
cache_warm.py); the benchmark waits for that before the next turn, as a person reads the
reply before asking, and reports its cost apart (`warm_ms`). It also says what a turn
that only adds a question costs against that question's own reading time (its tokens, as
the app measured them, at the per-token rate of the sliding window's re-reads).

    python bench/prompt_cache.py [--turns 14] [--max-history 6] [--window-step N]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import _common
from _common import MODEL, NO_LIMITS_CONFIG, bench_line, median, target

from tests.support.fake_ollama import FakeOllama
from tests.support.live import BrowserClient, LiveServer
from webchat.config import settings_from_env

SYSTEM = "You are a patient tutor. Answer in one or two short sentences."
QUESTIONS = [
    "What is a prime number?", "Is 91 prime?", "Name three planets.",
    "Which one is largest?", "What is water made of?", "How many legs has a spider?",
    "What colour is the sky at noon?", "What is the capital of France?",
    "Translate 'cat' into Spanish.", "What is 12 times 12?", "Who wrote Hamlet?",
    "What does a thermometer measure?", "Name a mammal that flies.",
    "What is the boiling point of water in Celsius?", "Why do leaves fall?",
    "What is the chemical symbol for gold?",
]
OTHER = "tiny-assistant:latest"  # the same weights in another blob: a runner of its own
FIRST_COUNTED = 5  # turns from here on are summed (1-based): the window is full by then


class Chat:
    """One conversation with one trim policy on one model, and its per-turn figures."""

    def __init__(self, user: BrowserClient, trim: str, model: str, max_history: int) -> None:
        self.user, self.trim, self.model, self.max_history = user, trim, model, max_history
        self.ws = user.socket()
        self.cid = user.http.post(user.server.url + "/api/conversations", json={
            "system": SYSTEM, "settings": {"trim": trim}}, timeout=10).json()["id"]
        self.durations: list[float] = []
        self.counts: list[int] = []
        self.sizes: list[int] = []
        self.starts: list[str] = []  # the first question each request sent
        self.questions: list[int] = []  # each turn's question id
        self.warm_ms: list[float] = []
        self.short = 0

    def turn(self, question: str, options: dict[str, Any]) -> None:
        """Ask, then check the request held the last max_history messages."""
        self.ws.send({"type": "chat", "text": question, "model": self.model,
                      "conversation": self.cid, "options": options})
        frames = self.ws.recv_until("done", "error", timeout=180)
        if frames[-1]["type"] != "done":
            raise RuntimeError(f"{self.trim}: {frames[-1]}")
        stats = frames[-1]["stats"]
        self.durations.append(stats.get("prompt_eval_duration", 0) / 1e6)
        self.counts.append(stats.get("prompt_eval_count", 0))
        warmer = self.user.server.services.cache_warm
        before = warmer.prompt_eval_ns
        warmer.idle(180)
        self.warm_ms.append((warmer.prompt_eval_ns - before) / 1e6)
        history = self.user.history(self.cid)
        asked = [m["content"] for m in history["messages"][:-1]]
        self.questions.append(history["messages"][-2]["id"])
        request = self.user.stored_request(history, len(history["messages"]) - 1)
        sent = [m["content"] for m in request["messages"][1:]]
        self.starts.append(sent[0] if sent else "")
        self.sizes.append(len(sent))
        need = min(self.max_history, len(asked))
        if len(sent) < need or sent[-need:] != asked[-need:]:
            self.short += 1
        print(f"  {self.trim:>7} on {self.model:<21} turn {len(self.sizes):>2}: "
              f"{len(sent):>2} messages, {self.counts[-1]:>4} prompt tokens, read in "
              f"{self.durations[-1]:7.1f} ms", flush=True)

    def question_tokens(self) -> list[int]:
        """Each turn's question as Ollama counted it (webchat/token_counts.py)."""
        rows = dict((r["message_id"], r["tokens"]) for r in self.user.server.services.sessions
                    .db.query("SELECT message_id, tokens FROM message_tokens WHERE model = ?",
                              (self.model,)))
        return [rows.get(q, 0) for q in self.questions]

    def figures(self) -> dict[str, Any]:
        counted = slice(FIRST_COUNTED - 1, len(self.durations))
        turns = range(FIRST_COUNTED - 1, len(self.durations))
        appended = [t for t in turns if self.starts[t] == self.starts[t - 1]]
        return {"ms": sum(self.durations[counted]), "tokens": sum(self.counts[counted]),
                "max_sent": max(self.sizes), "short": self.short,
                "turn_ms": self.durations[counted], "warm_ms": sum(self.warm_ms[counted]),
                "appended": [(self.durations[t], q) for t, q in zip(
                    turns, self.question_tokens()[counted], strict=True) if t in appended],
                "reread": [(self.durations[t], self.counts[t]) for t in turns]}


def run_round(url: str, data_dir: Any, models: tuple[str, str], turns: int,
              max_history: int, step: int, num_predict: int) -> dict[str, dict[str, Any]]:
    """Both policies at once, turn by turn, each on its own model (so each keeps its own
    cache in Ollama): a machine busy with other work slows both alike."""
    server = LiveServer(data_dir, url, MAX_HISTORY=max_history, WINDOW_STEP=step,
                        READ_TIMEOUT=180.0, KEEP_MODELS_ON_LEAVE=True, **NO_LIMITS_CONFIG)
    try:
        user = BrowserClient(server)
        chats = [Chat(user, "steps", models[0], max_history),
                 Chat(user, "sliding", models[1], max_history)]
        options = {"num_predict": num_predict, "temperature": 0, "seed": 1}
        for turn in range(turns):
            for chat in chats:
                chat.turn(QUESTIONS[turn % len(QUESTIONS)], options)
        return {chat.trim: chat.figures() for chat in chats}
    finally:
        server.stop()


def question_cost(steps: dict[str, Any], sliding: list[dict[str, Any]]) -> float:
    """The median of (a turn that only added a question) / (that question's own reading
    time), the latter at the per-token rate of the sliding window, which re-reads all
    but the system prompt's start every turn."""
    reread = [(ms, count) for run in sliding for ms, count in run["reread"]]
    per_token = sum(ms for ms, _ in reread) / max(1, sum(count for _, count in reread))
    ratios = [ms / (tokens * per_token) for ms, tokens in steps if tokens > 0]
    return median(ratios) if ratios else float("nan")


def _summed(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over the rounds, and the median turn (robust to a machine busy elsewhere)."""
    return {"ms": sum(r["ms"] for r in runs), "tokens": sum(r["tokens"] for r in runs),
            "max_sent": max(r["max_sent"] for r in runs),
            "short": sum(r["short"] for r in runs),
            "median_ms": median(ms for r in runs for ms in r["turn_ms"]),
            "warm_ms": sum(r["warm_ms"] for r in runs),
            "appended": [pair for r in runs for pair in r["appended"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=14)
    parser.add_argument("--max-history", type=int, default=6)
    parser.add_argument("--window-step", type=int,
                        default=settings_from_env()["WINDOW_STEP"])
    parser.add_argument("--num-predict", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs, the two models swapped each time; totals are summed")
    args = parser.parse_args()
    real = os.environ.get("WEBCHAT_TEST_OLLAMA_URL", "").rstrip("/")
    fake = None if real else FakeOllama().start()
    url = real or fake.url  # type: ignore[union-attr]
    print(f"Ollama: {'real at ' + real if real else 'stand-in'}; {args.turns} turns, "
          f"max_history {args.max_history}, window step {args.window_step}", flush=True)
    results: dict[str, list[dict[str, Any]]] = {"steps": [], "sliding": []}
    try:
        for round_ in range(args.rounds):
            models = (MODEL, OTHER) if round_ % 2 == 0 else (OTHER, MODEL)
            with _common.temp_dir("prompt-cache") as data_dir:
                figures = run_round(url, data_dir, models, args.turns, args.max_history,
                                    args.window_step, args.num_predict)
            for trim, result in figures.items():
                results[trim].append(result)
    finally:
        if fake is not None:
            fake.stop()
    steps, sliding = (_summed(results[trim]) for trim in ("steps", "sliding"))
    ratio = steps["ms"] / sliding["ms"] if sliding["ms"] else float("nan")
    print(f"  prompt reading, turns {FIRST_COUNTED}-{args.turns}: steps {steps['ms']:.0f} ms "
          f"({steps['tokens']} tokens), sliding {sliding['ms']:.0f} ms "
          f"({sliding['tokens']} tokens)")
    one_question = question_cost(steps["appended"], results["sliding"])
    print(f"  warm-ups after the replies (off the turns, while a person reads): steps "
          f"{steps['warm_ms']:.0f} ms, sliding {sliding['warm_ms']:.0f} ms; a turn that only "
          f"added a question: {one_question:.2f}x that question's own reading time "
          f"(median of {len(steps['appended'])})")
    print(target("ratio <= 0.5 with every request holding the last max_history messages",
                 ratio <= 0.5 and steps["short"] == 0 and sliding["short"] == 0))
    print(target("a turn that adds one question costs at most about 2x its own reading",
                 one_question <= 2.2))
    print(bench_line("prompt_cache", ollama="real" if real else "stand-in",
                     turns=args.turns, rounds=args.rounds, max_history=args.max_history,
                     window_step=args.window_step, steps_ms=steps["ms"],
                     sliding_ms=sliding["ms"], ratio=ratio,
                     steps_median_ms=steps["median_ms"], sliding_median_ms=sliding["median_ms"],
                     steps_tokens=steps["tokens"], steps_warm_ms=steps["warm_ms"],
                     sliding_warm_ms=sliding["warm_ms"], one_question_cost=one_question,
                     sliding_tokens=sliding["tokens"], steps_max_sent=steps["max_sent"],
                     short_requests=steps["short"] + sliding["short"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
