"""Several Ollama servers behind one page: which are up, what each holds, where a chat goes.

`--ollama-url` takes a comma-separated list, optionally labelled
(`gpu=http://10.0.0.5:11434,nas=http://nas:11434`); the order is the preference. Each
host has its own OllamaClient. Their state (`/api/tags`, `/api/ps`, `/api/version`) is
asked of every host in parallel and kept briefly; a host that does not answer within the
connect timeout is reported as down and, for a few seconds, not waited for again (a
background check notices when it is back), so one black-holed machine never makes the
page wait. With one host everything behaves as with a single client.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .address import ollama_url_from_host
from .client import OllamaClient
from .errors import OllamaError, OllamaUnreachable
from .names import canonical

_BARE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
ROUTE_MAX_AGE = 2.0  # seconds routing may trust a host's cached /api/tags and /api/ps
SLOW_RECHECK = 5.0  # seconds a host that did not answer in time is not waited for


class HostsConfigError(ValueError):
    """`--ollama-url` cannot be used; the text says which entry and why."""


class UnknownHost(OllamaError):
    status = 400


def _check_url(entry: str, url: str) -> str:
    url = url.strip()
    if not url:
        raise HostsConfigError(f"--ollama-url: {entry!r} has no URL after '='")
    if "://" not in url:  # `nas:11434` or `10.0.0.5`, read as OLLAMA_HOST is
        if not _BARE_HOST.match(url):
            raise HostsConfigError(
                f"--ollama-url: {url!r} is not an http:// or https:// URL "
                "(e.g. http://127.0.0.1:11434)")
        url = ollama_url_from_host(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HostsConfigError(
            f"--ollama-url: {url!r} is not an http:// or https:// URL "
            "(e.g. http://127.0.0.1:11434)")
    if not parts.hostname or any(c.isspace() for c in url):
        raise HostsConfigError(f"--ollama-url: {url!r} has no valid host name")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number 0-65535)
    except ValueError:
        raise HostsConfigError(f"--ollama-url: {url!r} has an invalid port") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise HostsConfigError(
            f"--ollama-url: {url!r} must be a plain server URL (no user, query or #)")
    return url.rstrip("/")


def parse_hosts(value: str) -> list[tuple[str, str]]:
    """`[label=]url,...` to [(label, url)] in preference order, or a HostsConfigError.

    A host without a label is named by its host name (with the port when two share it).
    """
    entries = [part.strip() for part in str(value or "").split(",")]
    if not any(entries):
        raise HostsConfigError(
            "--ollama-url is empty: give at least one URL, e.g. http://127.0.0.1:11434")
    parsed: list[tuple[str, str]] = []
    for entry in entries:
        if not entry:
            raise HostsConfigError(f"--ollama-url {value!r}: an empty entry between commas")
        label, sep, url = entry.partition("=")
        if sep and "://" in label:  # an '=' inside a URL, not a label
            label, url = "", entry
        elif not sep:
            label, url = "", entry
        label = label.strip()
        if sep and label and not _LABEL.match(label):
            raise HostsConfigError(
                f"--ollama-url: label {label!r} must be 1-32 letters, digits, '.', '_' "
                "or '-'")
        parsed.append((label, _check_url(entry, url)))
    names = [urlsplit(url).hostname for _, url in parsed]
    hosts: list[tuple[str, str]] = []
    for label, url in parsed:
        if any(url == seen for _, seen in hosts):
            raise HostsConfigError(f"--ollama-url: {url} is listed twice")
        if not label:
            parts = urlsplit(url)
            label = parts.hostname or url
            if names.count(label) > 1:
                label = f"{label}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        if any(label == seen for seen, _ in hosts):
            raise HostsConfigError(f"--ollama-url: the label {label!r} is used twice")
        hosts.append((label, url))
    return hosts


class _Fetch:
    """One request to one host, run in its own thread so callers can stop waiting."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self._call = call

    def run(self) -> None:
        try:
            self.value = self._call()
        except BaseException as exc:  # handed to whoever waits for it
            self.error = exc
        finally:
            self.done.set()


class Host:
    """One Ollama server: its client and what it last said about itself."""

    def __init__(self, label: str, url: str, client: OllamaClient) -> None:
        self.label = label
        self.url = url
        self.client = client
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}  # kind -> (when, value)
        self._inflight: dict[str, _Fetch] = {}
        self.error: OllamaError | None = None  # the last failure, while it is down
        self.slow_until = 0.0  # not waited for before then: it did not answer in time
        self.changed_at = 0.0

    @property
    def up(self) -> bool:
        return self.error is None

    def _calls(self, kind: str) -> Callable[[], Any]:
        return {"tags": self.client.list_models, "ps": self.client.list_loaded_models,
                "version": self.client.version}[kind]

    def cached(self, kind: str, max_age: float) -> tuple[bool, Any]:
        with self._lock:
            hit = self._cache.get(kind)
        if hit is not None and max_age > 0 and time.monotonic() - hit[0] <= max_age:
            return True, hit[1]
        return False, None

    def begin(self, kind: str) -> _Fetch:
        """The request for `kind` in flight, or a new one."""
        with self._lock:
            fetch = self._inflight.get(kind)
            if fetch is not None:
                return fetch
            fetch = self._inflight[kind] = _Fetch(self._calls(kind))
        threading.Thread(target=self._run, args=(kind, fetch), daemon=True,
                         name=f"host-{self.label[:12]}-{kind}").start()
        return fetch

    def _run(self, kind: str, fetch: _Fetch) -> None:
        fetch.run()
        with self._lock:
            self._inflight.pop(kind, None)
            if fetch.error is None:
                self._cache[kind] = (time.monotonic(), fetch.value)
                self.slow_until = 0.0
        if fetch.error is None:
            self.mark_up()
        elif isinstance(fetch.error, OllamaError):
            self.mark_down(fetch.error)

    def mark_up(self) -> None:
        if self.error is not None:
            self.error = None
            self.changed_at = time.monotonic()

    def mark_down(self, error: OllamaError, slow: bool = False) -> None:
        """Remember why it failed and forget what it held (it may have restarted)."""
        with self._lock:
            self._cache.clear()
            if slow:
                self.slow_until = time.monotonic() + SLOW_RECHECK
        if self.error is None:
            self.changed_at = time.monotonic()
        self.error = error

    def forget(self, kind: str | None = None) -> None:
        """Drop cached state (after an unload, a pull, a reply) so the next look is fresh."""
        with self._lock:
            if kind is None:
                self._cache.clear()
            else:
                self._cache.pop(kind, None)

    def is_slow(self) -> bool:
        return time.monotonic() < self.slow_until


@dataclass
class HostAnswer:
    host: Host
    values: dict[str, Any]  # kind -> value, for the kinds it answered
    error: OllamaError | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Hosts:
    """Every configured Ollama host, in preference order."""

    def __init__(self, pairs: Iterable[tuple[str, str]], connect_timeout: float = 5.0,
                 read_timeout: float = 300.0) -> None:
        self.connect_timeout = connect_timeout
        self.hosts = [Host(label, url, OllamaClient(url, connect_timeout, read_timeout))
                      for label, url in pairs]
        if not self.hosts:
            raise HostsConfigError("--ollama-url: no Ollama host given")
        self._by_label = {host.label: host for host in self.hosts}

    @classmethod
    def from_setting(cls, value: str, connect_timeout: float = 5.0,
                     read_timeout: float = 300.0) -> Hosts:
        return cls(parse_hosts(value), connect_timeout, read_timeout)

    @property
    def primary(self) -> Host:
        return self.hosts[0]

    @property
    def several(self) -> bool:
        return len(self.hosts) > 1

    def get(self, label: str) -> Host:
        host = self._by_label.get(label)
        if host is None:
            known = ", ".join(h.label for h in self.hosts)
            raise UnknownHost(f"host: there is no Ollama host named {label!r} "
                              f"(hosts: {known})")
        return host

    def pick(self, label: Any) -> Host | None:
        """The host a request names (`"host"`), None when it names none."""
        if label is None or label == "":
            return None
        if not isinstance(label, str):
            raise UnknownHost("host: must be the label of a host")
        return self.get(label)

    # -- asking every host at once ----------------------------------------------------------

    def gather(self, kinds: tuple[str, ...], max_age: float = 0.0) -> list[HostAnswer]:
        """Ask every host for `kinds` (tags, ps, version) in parallel; wait at most the
        connect timeout. Answers in preference order; a host that failed carries why."""
        pending: list[tuple[Host, str, _Fetch]] = []
        answers = [HostAnswer(host, {}, None) for host in self.hosts]
        for answer in answers:
            host = answer.host
            for kind in kinds:
                hit, value = host.cached(kind, max_age)
                if hit:
                    answer.values[kind] = value
                    continue
                fetch = host.begin(kind)
                if host.is_slow() and not fetch.done.is_set():
                    answer.error = host.error or _no_answer(host, self.connect_timeout)
                    continue
                pending.append((host, kind, fetch))
        deadline = time.monotonic() + self.connect_timeout
        for host, kind, fetch in pending:
            answer = answers[self.hosts.index(host)]
            if not fetch.done.wait(max(0.0, deadline - time.monotonic())):
                error = _no_answer(host, self.connect_timeout)
                host.mark_down(error, slow=True)
                answer.error = answer.error or error
            elif fetch.error is not None:
                answer.error = answer.error or _as_ollama_error(fetch.error)
            else:
                answer.values[kind] = fetch.value
        return answers

    def forget(self, kind: str | None = None) -> None:
        for host in self.hosts:
            host.forget(kind)

    # -- what the endpoints show -------------------------------------------------------------

    def models(self) -> tuple[list[dict[str, Any]], list[HostAnswer]]:
        """Every installed model once per host that has it, naming its host, and in
        `on_hosts` all hosts that have it (any spelling): a picker offering "any host"
        and "on <host>" listed a model only one host has twice, meaning the same.
        Raises the first host's error when no host answered (one host: as before)."""
        answers = self.gather(("tags",))
        _raise_if_none_answered(answers)
        rows = [(a.host.label, m, canonical(str(m.get("name") or m.get("model") or "")))
                for a in answers if a.ok for m in a.values["tags"]]
        where: dict[str, list[str]] = {}
        for label, _, key in rows:
            if label not in where.setdefault(key, []):
                where[key].append(label)
        return [{**m, "host": label, "on_hosts": where[key]} for label, m, key in rows], answers

    def loaded(self) -> tuple[list[tuple[Host, dict[str, Any]]], list[HostAnswer]]:
        """What `/api/ps` lists on every host that answered, with its host."""
        answers = self.gather(("ps",))
        _raise_if_none_answered(answers)
        return [(a.host, model) for a in answers if a.ok for model in a.values["ps"]], answers

    def summary(self, answers: list[HostAnswer]) -> list[dict[str, Any]]:
        """Each host's label, URL, whether it is up, and why not."""
        return [{"label": a.host.label, "url": a.host.url, "up": a.ok,
                 "error": None if a.ok else str(a.error)} for a in answers]

    def status(self) -> list[dict[str, Any]]:
        """`GET /api/hosts`: each host, up or not, its version and what it holds loaded."""
        answers = self.gather(("version", "ps"))
        rows = []
        for row, answer in zip(self.summary(answers), answers, strict=True):
            loaded = answer.values.get("ps") or []
            version = answer.values.get("version")
            rows.append({**row,
                         "version": version if answer.ok else None,
                         "loaded_count": len(loaded) if answer.ok else 0,
                         "loaded_bytes": sum(int(m.get("size") or 0) for m in loaded)
                         if answer.ok else 0,
                         "loaded_vram_bytes": sum(int(m.get("size_vram") or 0)
                                                  for m in loaded) if answer.ok else 0})
        return rows

    # -- where a chat goes ----------------------------------------------------------------------

    def route(self, model: str, pinned: Host | None = None, previous: str | None = None,
              busy: dict[str, int] | None = None) -> Host:
        """The host to answer `model`.

        Pinned wins. Else the host that answered the conversation's last turn while the
        model is still loaded there (Ollama's prompt cache); else a host where it is
        loaded (the least busy with this app's replies); else the first host in order of
        preference that has it installed and is not busy with our replies (else the
        least busy of those); else the first host that is up, which then says what
        Ollama says about an unknown model."""
        if pinned is not None:
            return pinned
        if not self.several:
            return self.primary
        busy = busy or {}
        answers = [a for a in self.gather(("tags", "ps"), max_age=ROUTE_MAX_AGE) if a.ok]
        loaded = [a.host for a in answers if _lists(a.values["ps"], model)]
        if previous is not None and any(h.label == previous for h in loaded):
            return self.get(previous)
        if loaded:
            return min(loaded, key=lambda h: busy.get(h.label, 0))
        installed = [a.host for a in answers if _lists(a.values["tags"], model)]
        if installed:
            idle = [h for h in installed if not busy.get(h.label)]
            return idle[0] if idle else min(installed, key=lambda h: busy.get(h.label, 0))
        return answers[0].host if answers else self.primary

    def release(self, model: str, label: str = "") -> None:
        """Unload without waiting, from the labelled host or wherever it is loaded
        (the fair unloads of models/usage.py)."""
        targets = [self.get(label)] if label else (
            self.where_loaded(model) if self.several else [self.primary])
        for host in targets:
            host.forget("ps")
            host.client.unload_model(model, wait=0)

    def where_loaded(self, model: str) -> list[Host]:
        """The hosts whose `/api/ps` lists the model now (hosts that are down are not)."""
        return [a.host for a in self.gather(("ps",)) if a.ok and _lists(a.values["ps"], model)]


def _lists(models: list[dict[str, Any]], name: str) -> bool:
    """`/api/tags` or `/api/ps` lists the model, however either side spells it."""
    key = canonical(name)
    return any(canonical(str(m.get(field) or "")) == key for m in models
               for field in ("name", "model"))


def _no_answer(host: Host, timeout: float) -> OllamaUnreachable:
    return OllamaUnreachable(f"Ollama at {host.url} did not answer within {timeout:g} s")


def _as_ollama_error(error: BaseException) -> OllamaError:
    if isinstance(error, OllamaError):
        return error
    return OllamaError(f"Unexpected answer from Ollama: {error}")


def _raise_if_none_answered(answers: list[HostAnswer]) -> None:
    if answers and not any(a.ok for a in answers):
        raise answers[0].error  # type: ignore[misc]
