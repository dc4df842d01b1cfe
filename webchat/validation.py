"""Check what a browser sends before any of it reaches Ollama.

Ollama silently ignores unknown option names and answers a wrongly typed one with a
500 and a Go type name; a person deserves a message naming the field instead.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .ollama.modelinfo import THINK_LEVELS


class MessageTooLong(ValueError):
    """The newest message, with the system prompt and room for the reply, does not fit
    the model's context (webchat/store/context_fit.py measures it): refused before it is
    sent. `budget` is that context (a store.context_fit.Budget: its `to_json()` goes to
    the page)."""

    def __init__(self, message: str, tokens: int, budget: Any) -> None:
        super().__init__(message)
        self.tokens, self.budget = tokens, budget


class InvalidInput(ValueError):
    """A value from the browser that cannot be sent on; the text names the field.
    `fields` has every bad field's message when several were checked at once."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


# name: (type, minimum, maximum); None = what Ollama's Go type holds (WIDEST below).
# Ranges are what Ollama accepts; penalties past 100 change nothing a person would want.
NUMERIC_OPTIONS: dict[str, tuple[type, float | None, float | None]] = {
    "temperature": (float, 0.0, 100.0),
    "top_p": (float, 0.0, 1.0),
    "min_p": (float, 0.0, 1.0),
    "typical_p": (float, 0.0, 1.0),
    "top_k": (int, 0, None),
    "num_ctx": (int, 1, 1 << 24),
    "num_predict": (int, -2, None),
    "num_keep": (int, -1, None),
    "seed": (int, -(1 << 31), (1 << 31) - 1),
    "repeat_penalty": (float, 0.0, 100.0),
    "repeat_last_n": (int, -1, None),
    "presence_penalty": (float, -100.0, 100.0),
    "frequency_penalty": (float, -100.0, 100.0),
    "num_batch": (int, 1, None),
    "num_gpu": (int, -1, None),
    "main_gpu": (int, 0, None),
    "num_thread": (int, 0, None),
}
# Ollama reads options into Go's int and float32 through a float64, and a number past
# those (`1e19`, or a 400-digit integer that Python's float() cannot even take: an
# OverflowError, a 500) would wrap around or become infinite there. The ints stop at
# int32 (a float64 holds them exactly; no real model wants more).
WIDEST = {int: float(2**31 - 1), float: 3.4028234663852886e38}
BOOLEAN_OPTIONS = ("penalize_newline", "numa", "use_mmap")
MAX_STOP_SEQUENCES = 16
MAX_IMAGES = 4  # per message: in a chat frame and in an imported file

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9._\-]+)*(:[A-Za-z0-9._\-]+)?$")


def validate_model_name(value: Any) -> str:
    """A model name as Ollama writes it (`[host/][namespace/]model[:tag]`), nothing else."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("model: choose a model first")
    name = value.strip()
    if len(name) > 200 or not _MODEL_NAME.match(name) or ".." in name:
        raise InvalidInput(f"model: {name[:60]!r} is not a valid model name")
    return name


def _number(name: str, value: Any, kind: type, low: float | None, high: float | None) -> Any:
    """Compared before it is converted: Python compares an int of any size with a float
    exactly, while float() of a 400-digit int raises OverflowError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"options.{name}: must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"options.{name}: must be a finite number")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise InvalidInput(f"options.{name}: must be a whole number")
    low = -WIDEST[kind] if low is None else low
    high = WIDEST[kind] if high is None else high
    if value < low:
        raise InvalidInput(f"options.{name}: must be at least {_bound(kind, low)}")
    if value > high:
        raise InvalidInput(f"options.{name}: must be at most {_bound(kind, high)}")
    return int(value) if kind is int else float(value)


def _bound(kind: type, value: float) -> str:
    return f"{int(value):,}" if kind is int else f"{value:g}"


def _stop_sequences(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput("options.stop: must be a list of non-empty strings")
    if len(value) > MAX_STOP_SEQUENCES:
        raise InvalidInput(f"options.stop: at most {MAX_STOP_SEQUENCES} stop sequences")
    return list(value)


def validate_options(value: Any) -> dict[str, Any]:
    """Return the options to put in Ollama's `options`, or raise naming the bad field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("options: must be an object")
    clean: dict[str, Any] = {}
    problems: dict[str, str] = {}  # every bad field, so a form can mark them all
    for name, item in value.items():
        try:
            _check_option(clean, name, item)
        except InvalidInput as exc:
            problems[field_of(str(exc)) or "options"] = str(exc)
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return clean


def _check_option(clean: dict[str, Any], name: Any, item: Any) -> None:
    """Check one option into `clean`, or raise naming it."""
    if item is None or item == "":
        return  # a field the user left empty means "Ollama's default"
    if name in NUMERIC_OPTIONS:
        clean[name] = _number(name, item, *NUMERIC_OPTIONS[name])
    elif name in BOOLEAN_OPTIONS:
        if not isinstance(item, bool):
            raise InvalidInput(f"options.{name}: must be true or false")
        clean[name] = item
    elif name == "stop":
        clean[name] = _stop_sequences(item)
    else:
        raise InvalidInput(f"options.{str(name)[:40]}: not an option Ollama knows")


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
# Go's time.Duration is int64 nanoseconds: about 292 years. Ollama turns a longer
# keep_alive into a negative duration (its ParseDuration refuses the text form).
MAX_KEEP_ALIVE_SECONDS = (2**63 - 1) // 10**9


def duration_seconds(value: Any) -> float | None:
    """A keep_alive (seconds, or a Go duration such as 1h30m) in seconds; None if unknown.
    A negative one means forever."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if abs(value) <= 1e300 else None
    if not isinstance(value, str) or len(value) > 100:
        return None
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return sign * float(text)
    parts = _PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sign * sum(float(amount) * _UNITS[unit] for amount, unit in parts)


def validate_keep_alive(value: Any) -> int | float | str | None:
    """Seconds, -1 (forever), 0 (unload after the reply) or a Go duration like `10m`,
    at most Go's longest duration (about 292 years)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("keep_alive: must be seconds or a duration such as 10m")
    if isinstance(value, (int, float)):
        if (isinstance(value, float) and not math.isfinite(value)) or (
                value < 0 and value != -1):
            raise InvalidInput("keep_alive: must be -1 (forever), 0, or a positive duration")
        if value > MAX_KEEP_ALIVE_SECONDS:  # compared before float(): any int will do
            raise InvalidInput(f"keep_alive: at most {MAX_KEEP_ALIVE_SECONDS:,} seconds "
                               f"(about 292 years); -1 keeps the model forever")
        return int(value) if float(value).is_integer() else value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d{1,30}", text):
            return validate_keep_alive(int(text))
        if len(text) <= 100 and _DURATION.match(text):
            if (duration_seconds(text) or 0) > MAX_KEEP_ALIVE_SECONDS:
                raise InvalidInput(f"keep_alive: {text[:30]!r} is longer than Go's longest "
                                   "duration (about 292 years)")
            return text
    raise InvalidInput(f"keep_alive: {str(value)[:30]!r} is not a duration such as 30s, 10m or 1h")


THINK_CHOICES = f"think: must be true, false or one of {', '.join(THINK_LEVELS)}"


def validate_think(value: Any) -> bool | str | None:
    """The Think control's value: on or off (true, false), a level for the models that
    take one (webchat/ollama/modelinfo.think_levels), or None when a frame leaves it out.
    What reaches Ollama is decided per model (think_to_send)."""
    if value is None or isinstance(value, bool) or value in THINK_LEVELS:
        return value
    raise InvalidInput(THINK_CHOICES)


def validate_settings(value: Any) -> dict[str, Any]:
    """A conversation's saved settings: model, endpoint, options, keep_alive, think, and
    trim (how the context window moves, webchat/store/window.py)."""
    if not isinstance(value, dict):
        raise InvalidInput("settings: must be an object")
    clean: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, item in value.items():
        if key == "model":
            clean[key] = validate_model_name(item) if item else None
        elif key == "endpoint":
            if item not in ("chat", "generate"):
                raise InvalidInput('endpoint: must be "chat" or "generate"')
            clean[key] = item
        elif key in ("options", "keep_alive"):
            try:
                clean[key] = (validate_options if key == "options"
                              else validate_keep_alive)(item)
            except InvalidInput as exc:  # gathered: the form marks every bad field
                problems.update(exc.fields or {field_of(str(exc)) or key: str(exc)})
        elif key == "think":
            if item is None:
                raise InvalidInput(THINK_CHOICES)
            clean[key] = validate_think(item)
        elif key == "trim":
            if item not in ("steps", "sliding"):
                raise InvalidInput('trim: must be "steps" or "sliding"')
            clean[key] = item
        else:
            raise InvalidInput(f"settings.{str(key)[:40]}: not a setting")
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return clean


IMAGE_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff",
               "image/gif": b"GIF8", "image/webp": b"RIFF"}


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes really are (not what the browser claims), or None."""
    for mime, magic in IMAGE_TYPES.items():
        if data.startswith(magic) and (mime != "image/webp" or data[8:12] == b"WEBP"):
            return mime
    return None


def field_of(message: str) -> str | None:
    """The field an InvalidInput names (`options.top_p: must be...` -> `options.top_p`)."""
    head, sep, _ = message.partition(":")
    return head if sep and re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", head) else None
