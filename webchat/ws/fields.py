"""Reading a chat frame's fields: each checked, or refused with the field it names.

Apart from the handlers so each `on_<type>` reads as what the frame does; a bad field
raises InvalidInput, which `ChatConnection.handle` answers with an `invalid` error frame
naming the field (the socket stays open). One reader per connection, built with it: the
browser, its role and the app's services are known from the request that opened it.
"""

from __future__ import annotations

import re
from typing import Any

from ..guard.ids import is_id
from ..guard.roles import ADMIN, Forbidden, cap_keep_alive
from ..ollama.errors import OllamaError
from ..ollama.hosts import Host, UnknownHost
from ..ollama.modelinfo import is_cloud, think_to_send
from ..services import Services
from ..validation import (
    MAX_IMAGES,
    InvalidInput,
    validate_keep_alive,
    validate_model_name,
    validate_options,
    validate_settings,
    validate_think,
)

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class FrameFields:
    """Reads the fields of one browser tab's frames (webchat/ws/chat_socket.py)."""

    def __init__(self, sid: str, role: str, services: Services, address: str = "") -> None:
        self.sid = sid
        self.role = role
        self.services = services
        self.address = address  # its network address (the per-address limits)

    def text(self, frame: dict[str, Any], allow_empty: bool = False) -> str:
        text = frame.get("text")
        if not isinstance(text, str):
            raise InvalidInput('text: must be a string')
        if not allow_empty and not text.strip():
            raise InvalidInput("text: the message is empty")
        limit = self.services.config["MAX_MESSAGE_BYTES"]
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise InvalidInput(f"text: the message is {size:,} bytes; the limit is {limit:,}")
        return text

    def conversation(self, frame: dict[str, Any], create: bool = False) -> int:
        """The conversation a frame names (checked against this browser), or by default
        its most recent one. Only a frame that stores something (`create`: a message, a
        system prompt) makes the browser's first conversation; the others answer
        `not_found` while it has none."""
        return self.services.sessions.conversations.resolve(self.sid, frame.get("conversation"),
                                              self.services.config["MAX_CONVERSATIONS"], create)

    def new_conversation(self, frame: dict[str, Any]) -> dict[str, Any]:
        """A `chat` frame's `new: true` (sent from a chat not stored yet): the system prompt
        and settings chosen before its first message, checked now; the conversation is
        made only when that message is stored, so a new chat left unused leaves no row."""
        system = frame.get("system")
        if system is not None:
            system = self.text({"text": system}, allow_empty=True).strip() or None
        settings = frame.get("settings")
        return {"system": system,
                "settings": validate_settings(settings) if settings is not None else None}

    def message_id(self, frame: dict[str, Any], what: str) -> int:
        message_id = frame.get("id")
        if not is_id(message_id):
            raise InvalidInput(f"id: must be the id of {what}")
        return message_id

    def images(self, frame: dict[str, Any], model: str, pinned: Host | None) -> list[str]:
        """Upload ids (POST /api/uploads) this browser owns, for a model that can see."""
        images = frame.get("images")
        if images is None or images == []:
            return []
        if not isinstance(images, list) or not all(
                isinstance(i, str) and _UPLOAD_ID.match(i) for i in images):
            raise InvalidInput("images: must be a list of upload ids")
        if len(images) > MAX_IMAGES:
            raise InvalidInput(f"images: at most {MAX_IMAGES} images per message")
        for upload_id in images:
            if self.services.sessions.uploads.upload(self.sid, upload_id) is None:
                raise InvalidInput("images: an attached image is gone; attach it again")
        self.services.model_op(self.sid, self.address)  # a show, to Ollama
        host = self.services.hosts.route(model, pinned)
        capabilities = host.client.show_model(model).get("capabilities") or []
        if "vision" not in capabilities:
            raise InvalidInput(f"images: {model} cannot see images; pick a vision model")
        return list(images)

    def host(self, frame: dict[str, Any]) -> Host | None:
        """The host a frame names (`"host"`: a label), None when it names none."""
        try:
            return self.services.hosts.pick(frame.get("host"))
        except UnknownHost as exc:
            raise InvalidInput(str(exc)) from None

    def think(self, request: dict[str, Any], host: Host) -> bool | str | None:
        """The `think` this reply sends to the model on `host`: what the Think control says
        (webchat/ollama/modelinfo.think_to_send reads the model's /api/show). When /api/show
        fails, none: the chat request then gets Ollama's own answer (not found, down).
        A cloud model is refused here first to a guest the server does not let use one."""
        try:
            show: dict[str, Any] | None = host.client.show_model(request["model"])
        except OllamaError:
            show = None
        self._check_cloud(request["model"], show or {})
        return None if show is None else think_to_send(request["think"], show)

    def _check_cloud(self, model: str, show: dict[str, Any]) -> None:
        """A model Ollama runs on ollama.com gets the whole conversation: on a shared
        server only the admin may send it one, or guests once the admin allowed it
        (--allow-cloud-models, or the switch on the page)."""
        if (self.role == ADMIN or self.services.guest_cloud.allowed
                or not is_cloud(model, show)):
            return
        raise Forbidden(f"{model} runs on ollama.com, so the whole conversation would "
                        "leave this machine: on this shared server only the admin may chat "
                        "with cloud models, unless the admin lets guests.")

    def reply_settings(self, frame: dict[str, Any]) -> dict[str, Any]:
        options = frame.get("options")
        keep_alive = frame.get("keep_alive")
        if isinstance(options, dict) and "keep_alive" in options:
            options = dict(options)
            keep_alive = options.pop("keep_alive")
        endpoint = frame.get("endpoint", "chat")
        if endpoint not in ("chat", "generate"):
            raise InvalidInput('endpoint: must be "chat" or "generate"')
        think = validate_think(frame.get("think"))
        return {
            "host": self.host(frame),
            "model": validate_model_name(frame.get("model")),
            "options": validate_options(options),
            "keep_alive": cap_keep_alive(validate_keep_alive(keep_alive), self.role),
            "endpoint": endpoint,
            "think": think,
        }
