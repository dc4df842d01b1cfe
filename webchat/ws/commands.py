"""The seed CLI's commands, typed in the chat input: /clear, /models, /unload, /exit.

Only these exact words are commands; any other text starting with "/" is a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..guard.roles import Forbidden, may_manage_models
from ..models.loaded import loaded_state, loaded_summary
from ..services import Services
from ..validation import validate_model_name

HELP = {
    "/clear": "clear this conversation (the system prompt stays)",
    "/models": "show the models loaded in memory",
    "/unload": "release the current model (or /unload NAME) from memory now",
    "/exit": "end the session: unload the models it used",
    "/help": "list these commands",
}


@dataclass(frozen=True)
class Caller:
    """What a command needs of the socket that typed it: who asked, the app's services,
    and how to answer. Handed in, so the commands never drive the connection itself."""

    sid: str
    role: str
    address: str  # its network address (the per-address limits)
    services: Services
    send: Callable[[dict[str, Any]], bool]
    error: Callable[..., None]
    clear: Callable[[dict[str, Any]], None]  # the `clear` frame's own handler


def is_command(text: str) -> bool:
    words = text.split()
    return bool(words) and words[0] in HELP and (len(words) == 1 or words[0] == "/unload")


def run(conn: Caller, text: str, frame: dict[str, Any]) -> None:
    words = text.split()
    name = words[0][1:]
    if name == "clear":
        conn.clear(frame)
    elif name == "models":
        _models(conn)
    elif name == "unload":
        _unload(conn, words[1] if len(words) > 1 else frame.get("model"))
    elif name == "exit":
        _exit(conn, frame.get("model"))
    else:
        lines = ["Commands:"] + [f"{word}  {what}" for word, what in HELP.items()]
        conn.send({"type": "info", "command": "help", "text": "\n".join(lines)})


def _models(conn: Caller) -> None:
    models = loaded_state(conn.services.hosts)["models"]
    conn.send({"type": "info", "command": "models", "models": models,
               "text": loaded_summary(models)})


def _unload(conn: Caller, model: Any) -> None:
    name = validate_model_name(model)
    conn.services.model_op(conn.sid, conn.address)
    if not may_manage_models(conn.role) and conn.services.usage.others_using(conn.sid, name):
        raise Forbidden(f"Another browser is using {name}: only the admin may unload it now.")
    result = conn.services.models.unload(name)
    conn.send({"type": "info", "command": "unload", **result})


def _exit(conn: Caller, current: Any) -> None:
    """End the session as the seed's /exit does: release the models it used, except
    those another open session is using too."""
    if conn.services.active.settled(conn.sid) is not None:
        conn.error("A reply is still being generated: wait for it or press Stop.", "busy")
        return
    services = conn.services
    if isinstance(current, str) and current:  # the page's model: wherever it is loaded
        host = "" if services.hosts.several else services.hosts.primary.label
        services.usage.used(conn.sid, validate_model_name(current), host)
    loaded = {m["name"] for m in loaded_state(services.hosts)["models"]}
    unloaded, kept = conn.services.usage.release(conn.sid)
    conn.services.loaded_watch.poke()
    unloaded = [name for name in unloaded if name in loaded]
    what = ", ".join(f"'{n}'" for n in unloaded) if unloaded else "nothing was loaded"
    # Said as what it does: the models go, nothing else ends (the page stays connected,
    # the conversations stay, and the next message loads its model again). The seed's
    # "Session ended… Great work today!" told a new user the chat was over.
    text = f"Released this browser's models: unloaded {what}."
    if kept:
        text += f" Kept {', '.join(repr(n) for n in kept)}: another session is using it."
    conn.send({"type": "info", "command": "exit", "unloaded": unloaded, "kept": kept,
               "text": text + " Your conversations stay; the next message loads its "
               "model again."})
