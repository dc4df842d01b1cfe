// The frames that come back about replies, and the socket opening and closing. Frames
// of a reply carry the id of the conversation they belong to, so a reply keeps
// streaming (into the reply model) while another conversation is on screen, and is
// shown live again on coming back to it.

import { toast } from "./dialogs.js";

export class ReplyControl {
  /**
   * @param {object} parts the models it changes (`reply`), reads (`conversation`,
   *   `connection`, `loaded`, `reachability`), the views it draws on (`view`, `composer`,
   *   `chrome`) and what others do for it (`act`: refreshHistory, refreshConversations,
   *   refreshLoaded, refreshModels, renderLoaded, showContext, updateControls, adopt,
   *   saveStarted, showFieldError, pullRefused, noSession, showLoadedList)
   */
  constructor({ reply, conversation, connection, loaded, reachability, view, composer,
    chrome, act }) {
    Object.assign(this, { reply, conversation, connection, loaded, reachability, view,
      composer, chrome, act });
    this.lostNote = null; // the "reconnecting" note, taken back once connected again
  }

  get here() {
    return this.reply.runsIn(this.conversation.current);
  }

  /** Give back text the server refused to the composer (if still on screen). */
  #refusePending() {
    const pending = this.reply.dropPending();
    if (pending?.kind === "chat" && pending.conversation === this.conversation.current) {
      this.composer.restore(pending.text);
    }
  }

  /** Delete and /clear keep what they removed for the undo window (every tab is told):
   * the toast's Undo puts it back, and `restored` redraws every tab. */
  #offerUndo(text, frame) {
    if (typeof frame.undo !== "number") return; // nothing was removed
    toast(text, "Undo", () => this.connection.send({ type: "undo", undo: frame.undo }));
  }

  /** The sidebar says at once that the reply's model is loading, if it is not in memory. */
  #began(model, waiting) {
    this.loaded.await(waiting && !this.loaded.isListed(model) ? model : "");
    this.act.renderLoaded();
  }

  /** The finished reply, as shown (markdown rendered), read out once. */
  #announce() {
    const text = (this.view.lastReplyText() || this.reply.running?.text || "").trim();
    if (text) this.chrome.announce(`Reply: ${text}`);
  }

  #ended(conversation) {
    this.reply.end();
    this.loaded.await("");
    this.act.renderLoaded();
    this.act.updateControls();
    if (conversation === this.conversation.current) this.act.refreshHistory();
    this.act.refreshConversations();
  }

  /** Another tab of this browser (or this tab before a reload) runs a reply: follow it. */
  #follow(frame, text = "", thinking = "", notice = "") {
    this.reply.follow(frame.conversation, frame.model || this.act.currentModel(), text,
      thinking, notice);
    this.#began(this.reply.running.model, !text && !thinking);
    this.conversation.streaming();
    if (frame.conversation === this.conversation.current) this.act.refreshHistory();
    this.act.updateControls();
    this.act.refreshConversations();
  }

  /** Every reply frame, by type. */
  frames = {
    resume: (frame) => this.#follow(frame, frame.text || "", frame.thinking || "",
      frame.notice || ""),
    notice: (frame) => {
      if (!this.reply.running) return;
      // The window was trimmed once more and sent again: said in the chat, and it stays.
      if (frame.code === "context_trimmed" && this.here) {
        this.view.addNote(frame.message, "info");
      }
      this.reply.setNotice(frame.clear ? "" : frame.message || "");
      this.act.updateControls();
    },
    start: (frame) => this.#start(frame),
    wait: (frame) => { // why the reply is slow to start: said where it will appear
      if (!this.reply.running) return;
      this.reply.setWaiting(frame.clear ? "" : frame.message || "");
      if (this.here) this.view.setWaiting(this.reply.running.waiting);
    },
    chunk: (frame) => {
      if (!this.reply.running) return;
      if (!this.reply.running.text && this.loaded.awaited) { // loaded now: as Ollama lists it
        this.loaded.await("");
        this.act.renderLoaded();
        this.act.refreshLoaded();
      }
      this.reply.addText(frame.text);
      if (this.here) this.view.appendChunk(frame.text);
    },
    thinking: (frame) => {
      if (!this.reply.running) return;
      this.reply.addThinking(frame.text);
      if (this.here) this.view.appendThinking(frame.text);
    },
    done: (frame) => this.#done(frame),
    error: (frame) => this.#error(frame),
    cleared: (frame) => {
      if (!frame.elsewhere) this.reply.dropPending(); // another tab's /clear: not ours
      this.#offerUndo("Conversation cleared.", frame);
      if (frame.conversation !== undefined && frame.conversation !== this.conversation.current) {
        return;
      }
      this.view.clear();
      this.act.refreshHistory();
      this.act.refreshConversations();
    },
    deleted: (frame) => {
      this.#offerUndo("Exchange deleted.", frame);
      if (frame.conversation === this.conversation.current) this.act.refreshHistory();
      this.act.refreshConversations();
    },
    restored: (frame) => {
      if (frame.conversation === this.conversation.current) this.act.refreshHistory();
      this.act.refreshConversations();
    },
    info: (frame) => {
      this.reply.dropPending();
      this.view.addNote(frame.text || "", "info");
      if (frame.command === "models" && Array.isArray(frame.models)) {
        this.act.showLoadedList(frame.models);
      }
      if (frame.command === "exit" || frame.command === "unload") this.act.refreshLoaded();
    },
  };

  #start(frame) {
    let pending = this.reply.pending;
    if (pending?.conversation === null && typeof frame.conversation === "number") {
      // Sent from a chat not stored yet: the server made (or picked) its conversation.
      this.reply.pendingStoredAs(frame.conversation);
      pending = this.reply.pending;
      if (this.conversation.draft && !this.conversation.current) { // still on screen:
        this.act.adopt(frame.conversation); // it is that one now, keeping the model and
        this.act.saveStarted(); // mode it was started with
      }
    }
    if (!pending || (frame.conversation !== undefined
        && pending.conversation !== frame.conversation)) {
      this.#follow(frame); // not ours: another tab's
      return;
    }
    const conversation = frame.conversation ?? pending.conversation ?? this.conversation.current;
    const model = pending.model ?? this.act.currentModel();
    this.reply.start(conversation, model);
    this.#began(model, true);
    this.chrome.announce(""); // the next announcement is this reply's, read once at its end
    this.conversation.streaming();
    if (conversation === this.conversation.current) {
      const view = this.view;
      if (pending.kind === "retry") view.markRetrying(pending.id);
      else if (pending.kind === "edit") {
        view.replaceWithVersion(pending.id, frame.message_id, pending.text);
      } else if (pending.kind === "regenerate") {
        view.truncateAfter(frame.message_id);
        view.markRetrying(frame.message_id);
      } else view.addUserMessage(frame.message_id, pending.text ?? "", pending.images || []);
      view.startReply(model, this.loaded.awaited ? `loading ${model}…` : "");
    }
    this.act.updateControls();
    this.act.refreshConversations();
  }

  #done(frame) {
    const conversation = this.reply.running?.conversation ?? frame.conversation;
    if (this.here) {
      this.view.endReply(frame.stats || {}, null);
      this.#announce();
    }
    // A stopped reply has no prompt count: the meter keeps the last one known.
    if (frame.stats?.prompt_eval_count !== undefined
        && conversation === this.conversation.current) {
      this.conversation.replied(frame.stats);
      this.act.showContext();
    }
    this.#ended(conversation);
  }

  #error(frame) {
    const message = frame.message || "Something went wrong.";
    if (frame.code === "busy") {
      this.#refusePending();
      this.view.addNote(message, "error");
      if (!this.reply.running) this.act.refreshHistory(); // another tab's reply: its Stop
      return;
    }
    // A reply's own failure carries `partial`; a failed command (/models) does not.
    if ((frame.code === "ollama" || frame.code === "interrupted") && this.reply.running
        && typeof frame.partial === "boolean") {
      const conversation = this.reply.running.conversation;
      if (this.here) {
        this.view.endReply(null, message);
        this.view.addNote(message, "error", true);
      }
      this.#ended(conversation);
      return;
    }
    if (frame.pull) { // a download refused: said by the Pull field, not in the chat
      this.act.pullRefused(frame);
      return;
    }
    this.#refusePending();
    if (frame.code === "invalid" && this.act.showFieldError(frame)) return;
    this.view.addNote(message, "error");
    if (frame.code === "no_session") {
      this.act.noSession(); // any /api request hands out the cookie; the socket then
      return; // reconnects with it
    }
    if (frame.code === "not_found") this.act.refreshConversations();
    this.act.refreshHistory();
  }

  opened() {
    const again = this.connection.opened();
    // Loaded models, downloads and every reply of this browser are pushed from now on; a
    // reply still running (this tab reloaded, or another tab's) comes back as `resume`.
    this.connection.send({ type: "watch", replies: true });
    if (this.lostNote) this.view.removeNote(this.lostNote);
    this.lostNote = null;
    this.act.updateControls();
    const wasDown = this.reachability.serverDown; // the page came from the worker's copy
    this.reachability.setServerDown(false);
    if (wasDown) this.act.refreshModels();
    if (again || wasDown) {
      // What happened while we were away (a reply cut short, another tab's messages).
      this.act.refreshHistory();
      this.act.refreshConversations();
    }
  }

  /** `reason`: why the server closed the socket, when it said (a tab that fell too far
   * behind its frames is dropped with one); kept on the page after reconnecting. */
  closed(reason = "") {
    const wasConnected = this.connection.closed();
    if (reason) this.view.addNote(`The server closed the connection: ${reason}`, "error");
    this.#refusePending();
    if (this.reply.running) {
      // The server keeps the reply going (--reply-grace); reconnected, it is resumed.
      if (this.here) this.view.pauseReply();
      this.reply.end();
      this.loaded.await("");
      this.act.renderLoaded();
    }
    if (wasConnected && !this.lostNote) {
      this.lostNote = this.view.addNote("Lost the connection to the server; reconnecting…",
        "error");
    }
    this.act.updateControls();
  }
}
