"""Check what a browser sends before any of it reaches Ollama.

Ollama silently ignores unknown option names and answers a wrongly typed one with a
500 and a Go type name; a person deserves a message naming the field instead.
"""

from __future__ import annotations

import math
import re
from typing import Any


class InvalidInput(ValueError):
    """A value from the browser that cannot be sent on; the text names the field.
    `fields` has every bad field's message when several were checked at once."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


# name: (type, minimum, maximum); None = unbounded. Ranges are what Ollama accepts.
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
    "repeat_penalty": (float, 0.0, None),
    "repeat_last_n": (int, -1, None),
    "presence_penalty": (float, -100.0, 100.0),
    "frequency_penalty": (float, -100.0, 100.0),
    "num_batch": (int, 1, None),
    "num_gpu": (int, -1, None),
    "main_gpu": (int, 0, None),
    "num_thread": (int, 0, None),
}
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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"options.{name}: must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"options.{name}: must be a finite number")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"options.{name}: must be a whole number")
        value = int(value)
    else:
        value = float(value)
    if low is not None and value < low:
        raise InvalidInput(f"options.{name}: must be at least {low:g}")
    if high is not None and value > high:
        raise InvalidInput(f"options.{name}: must be at most {high:g}")
    return value


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


def validate_keep_alive(value: Any) -> int | float | str | None:
    """Seconds, -1 (forever), 0 (unload after the reply) or a Go duration like `10m`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("keep_alive: must be seconds or a duration such as 10m")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or (value < 0 and value != -1):
            raise InvalidInput("keep_alive: must be -1 (forever), 0, or a positive duration")
        return int(value) if float(value).is_integer() else value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return validate_keep_alive(int(text))
        if _DURATION.match(text):
            return text
    raise InvalidInput(f"keep_alive: {str(value)[:30]!r} is not a duration such as 30s, 10m or 1h")


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
            if not isinstance(item, bool):
                raise InvalidInput("think: must be true or false")
            clean[key] = item
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
