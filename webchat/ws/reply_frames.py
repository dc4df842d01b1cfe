"""The frames that start or stop a reply: chat, retry, regenerate, edit, stop.

Apart from the rest of the socket because starting a reply is the one path with several
steps that must hold together: one reply at a time per browser (claimed before the
question is stored, released if storing fails), the rate limits, the host a conversation
stays on, and every tab of the browser that follows its replies.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..guard.peers import PeerLimits
from ..refusals import refusal_for
from ..relay import context_guard
from ..relay.reply import Reply, ReplyRequest
from ..services import Services
from ..validation import InvalidInput, MessageTooLong
from .fields import FrameFields


class Tab(Protocol):
    """What the reply frames need of the tab that sent them (a `ChatConnection`): who it
    is, and how to answer it; it is also one of the tabs a reply streams to."""

    sid: str
    following: bool  # it asked for every reply of its browser

    def send(self, frame: dict[str, Any]) -> bool: ...

    def send_text(self, data: str) -> bool: ...

    def error(self, message: str, code: str, **extra: Any) -> None: ...


class ReplyFrames:
    """The reply frames of one tab's socket (webchat/ws/chat_socket.py)."""

    def __init__(self, tab: Tab, fields: FrameFields, services: Services, peers: PeerLimits,
                 address: str) -> None:
        self.tab = tab
        self.sid = tab.sid
        self.fields = fields
        self.services = services
        self.config = services.config
        self.peers = peers  # limits per network address
        self.address = address
        self.error = tab.error

    def busy(self, conversation: int | None = None) -> bool:
        """A reply runs for this browser (in `conversation`, when one is given). One that
        is ending (stopped, or past its last token) is given a moment to finish first."""
        running = self.services.active.settled(self.sid)
        if running is None or (conversation is not None
                               and running.conversation_id != conversation):
            return False
        self.error("A reply is still being generated: wait for it or press Stop.", "busy",
                   conversation=running.conversation_id)
        return True

    def _rate_limited(self) -> bool:
        wait = self.services.message_rate.hit(self.sid)
        if wait:
            limit = self.config["MESSAGES_PER_MINUTE"]
            self.error(f"Too many messages: at most {limit} a minute. Try again in "
                       f"{int(wait) + 1} s.", "rate_limited")
            return True
        wait = self.peers.message(self.address)
        if wait:
            limit = self.config["MESSAGES_PER_ADDRESS"]
            self.error(f"Too many messages from this address: at most {limit} a minute "
                       f"for all its browsers. Try again in {int(wait) + 1} s.",
                       "rate_limited")
        return bool(wait)

    def on_chat(self, frame: dict[str, Any], text: str) -> None:
        """A message (`text`, already read: a command never gets here) to answer."""
        named = self.fields.conversation(frame) if frame.get("conversation") is not None else None
        fresh = self.fields.new_conversation(frame) if named is None and frame.get("new") is True \
            else None
        request = self.fields.reply_settings(frame)
        images = self.fields.images(frame, request["model"], request["host"])
        if self.busy() or self._rate_limited():
            return
        # Only a message that will be sent makes a conversation: the browser's first, or
        # (`new`) a new chat's, with what was chosen for it before this message.
        if fresh is not None:
            cid = self.services.sessions.conversations.new_conversation(
                self.sid, self.config["MAX_CONVERSATIONS"], "", fresh["system"],
                fresh["settings"]).id
        else:
            cid = named if named is not None else self.fields.conversation(frame, create=True)
        self._start_reply(cid, request, lambda: self.services.sessions.exchanges.add_user(
            self.sid, cid, text, request["model"], images), (text, len(images)))

    def _rerun(self, frame: dict[str, Any], reopen: Callable[[int], int],
               new_text: str | None = None) -> None:
        """Answer a stored message again. `reopen(cid)` puts it back in flight and
        returns its id; a ValueError from it is the user's mistake, said as such."""
        cid = self.fields.conversation(frame)
        request = self.fields.reply_settings(frame)
        if self.busy() or self._rate_limited():
            return

        def store() -> int:
            try:
                return reopen(cid)
            except ValueError as exc:
                if refusal_for(exc) is not None:  # one of its own (a quota): said as that
                    raise
                raise InvalidInput(str(exc)) from None

        self._start_reply(cid, request, store, (new_text, 0) if new_text is not None else None)

    def on_retry(self, frame: dict[str, Any]) -> None:
        message_id = self.fields.message_id(frame, "the failed message")

        def retry(cid: int) -> int:
            if not self.services.sessions.exchanges.retry_user(cid, message_id):
                raise ValueError("Only the last message, when its reply failed, can be retried")
            return message_id

        self._rerun(frame, retry)

    def on_regenerate(self, frame: dict[str, Any]) -> None:
        """Answer the last question again: its reply is replaced."""
        self._rerun(frame, self.services.sessions.exchanges.regenerate)

    def on_edit(self, frame: dict[str, Any]) -> None:
        """Rewrite one of your messages and send it again; the messages after it go."""
        message_id = self.fields.message_id(frame, "the message to edit")
        text = self.fields.text(frame)
        exchanges = self.services.sessions.exchanges
        self._rerun(frame, lambda cid: exchanges.edit_user(cid, message_id, text), text)

    def _start_reply(self, cid: int, request: dict[str, Any], store_user_message: Any,
                     new_text: tuple[str, int] | None = None) -> None:
        """`new_text` (text, images) is a message not stored yet: one that cannot fit the
        context even alone is refused before it is (context_guard.py)."""
        services = self.services
        sessions, active = services.sessions, services.active
        host = services.hosts.route(request["model"], request["host"],
                                    services.last_host.get(cid), services.busy_hosts())
        think = self.fields.think(request, host)
        services.cache_warm.cancel(host)  # a warm-up never makes a reply wait
        budget = context_guard.budget_for(services.context_lengths, host, request["model"],
                                          request["options"])
        if new_text is not None:
            try:
                context_guard.refuse_new_text(sessions, cid, request["model"],
                                              request["endpoint"], budget, *new_text)
            except MessageTooLong as exc:
                self.error(str(exc), "too_long", conversation=cid, tokens=exc.tokens,
                           context=exc.budget.to_json())
                return
        tabs = [self.tab] + [c for c in list(services.connections)
                             if c is not self.tab and c.sid == self.sid and c.following]
        if not active.claim(self.sid):
            self.error("A reply is still being generated: wait for it or press Stop.", "busy")
            return
        try:
            user_id = store_user_message()
            try:
                prepared = context_guard.prepare(sessions, cid, {**request, "think": think},
                                                 budget, self._image_data)
            except MessageTooLong as exc:  # stored before (a retry, an edit): kept, failed
                sessions.exchanges.finish_reply(user_id, 0, "", "", "error", None, str(exc))
                active.release(self.sid, None)
                self.error(str(exc), "too_long", conversation=cid, message_id=user_id,
                           tokens=exc.tokens, context=exc.budget.to_json())
                return
        except BaseException:
            active.release(self.sid, None)
            raise

        began = time.monotonic()

        def learn(stats: dict[str, Any], text: str) -> None:
            prepared.learn(stats)
            # No warm-up of a model asked to leave meanwhile: Ollama would keep it.
            if stats.get("done_reason") in ("stop", "length") and \
                    not services.models.unload_asked_since(host, request["model"], began):
                services.cache_warm.warm(host, services.context_lengths.version(host),
                                         prepared.payload, request["endpoint"], text)

        def ended() -> None:
            services.loaded_watch.poke()
            # How /api/ps shows the model after our request: unloaded at a leave only if
            # nobody (another app instance) has touched it since (models/usage.py).
            services.usage.seen(request["model"], host.label)

        reply = Reply(ReplyRequest(self.sid, cid, user_id, request["model"],
                                   request["endpoint"], prepared.payload, host,
                                   name_host=services.hosts.several, refit=prepared.refit,
                                   learn=learn, context_stats=prepared.stats),
                      sessions.exchanges, active, tabs, on_end=lambda: ended(),
                      load_times=services.load_times)
        active.begin(self.sid, reply)
        services.last_host[cid] = host.label
        services.usage.used(self.sid, request["model"], host.label)
        reply.announce({"type": "start", "message_id": user_id, "model": reply.model,
                        "host": host.label})
        reply.start()

    def _image_data(self, window: list[Any]) -> dict[str, str]:
        data: dict[str, str] = {}
        for message in window:
            for upload_id in message.images:
                found = self.services.sessions.uploads.upload(self.sid, upload_id)
                if found is not None:
                    data[upload_id] = base64.b64encode(found[1]).decode("ascii")
        return data

    def on_stop(self, frame: dict[str, Any]) -> None:
        """Stop this browser's reply, and any model it is loading (POST /api/load); a
        `stop` naming another conversation than the replying one stops no reply, so Stop
        belongs to the conversation that is replying."""
        reply = self.services.active.get(self.sid)
        named = frame.get("conversation")
        if reply is not None and (named is None or named == reply.conversation_id):
            reply.stop("stopped")
        self.services.preloads.cancel(sid=self.sid, reason="stopped")
