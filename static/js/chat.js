// The chat pane: history, the reply being streamed, and the page's own notes.
// User text goes in through textContent; model text only through markdown.js (marked,
// then DOMPurify); nothing from either is ever assigned to innerHTML.

import { formatStats, formatWhen } from "./format.js";
import { copyText } from "./clipboard.js";
import { renderMarkdown } from "./markdown.js";
import { uploadUrl } from "./api.js";
import { el } from "./dom.js";
import { versionSwitcher } from "./versions.js";

const NEAR_BOTTOM_PX = 48;
const EAGER_MARKDOWN = 40; // the newest replies are drawn as markdown at once
const FIRST_SLICE = 24; // messages drawn with the first paint of a conversation
const OLDER_SLICE = 50; // older messages added per task after it
const SETTLE_FRAMES = 4; // frames the view follows the end after reaching it
const CUT_SHORT = { stopped: "stopped", error: "error", interrupted: "interrupted" };
const STOPPED_BEFORE_TEXT = /^Stopped before any reply/; // the server's reason for a stop


function thinkingBox(text, open) {
  const box = el("details", "thinking");
  box.open = open;
  box.append(el("summary", null, "Thinking"));
  const body = el("div", "thinking-text");
  body.append(document.createTextNode(text));
  box.append(body);
  return box;
}

/** The mark on a reply that ended early; its text is kept above it. */
function cutShort(status, reason) {
  const box = el("div", "cut-short");
  box.append(el("span", "cut-short-label", `Cut short: ${CUT_SHORT[status]}`));
  // A stop's reason only repeats the label; an error or an interruption says why.
  if (reason && status !== "stopped") box.append(el("span", null, reason));
  return box;
}

function copyFeedback(button, text, label) {
  copyText(text).then((ok) => {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}

function thumbnails(ids) {
  const list = el("div", "thumbnails");
  for (const id of ids) {
    const link = el("a", "thumbnail");
    link.href = uploadUrl(id);
    link.target = "_blank";
    link.rel = "noopener";
    const img = el("img");
    img.src = uploadUrl(id);
    img.alt = "Attached image";
    img.loading = "lazy";
    link.append(img);
    list.append(link);
  }
  return list;
}

/** A reply arriving chunk by chunk; the DOM is touched at most once per frame. */
class StreamTarget {
  constructor(article, onFlush) {
    this.article = article;
    this.onFlush = onFlush;
    this.content = article.querySelector(".message-content");
    this.full = "";
    this.thinkingText = null;
    this.pending = "";
    this.pendingThinking = "";
    this.frame = 0;
  }

  addText(text) {
    this.pending += text;
    this.schedule();
  }

  addThinking(text) {
    this.pendingThinking += text;
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (this.pending || this.pendingThinking) this.article.querySelector(".reply-wait")?.remove();
    if (this.pendingThinking) {
      if (!this.thinkingText) {
        const box = thinkingBox("", true);
        box.querySelector("summary").textContent = "Thinking…";
        this.content.before(box);
        this.thinkingBox = box;
        this.thinkingText = box.querySelector(".thinking-text").firstChild;
      }
      this.thinkingText.appendData(this.pendingThinking);
      this.pendingThinking = "";
    }
    if (this.pending) {
      if (this.thinkingBox && this.thinkingBox.open && !this.full) {
        this.thinkingBox.open = false; // the answer starts: fold the thinking away
        this.thinkingBox.querySelector("summary").textContent = "Thinking";
      }
      this.full += this.pending;
      this.pending = "";
      // The whole reply is parsed again, at most once per animation frame.
      renderMarkdown(this.content, this.full, { final: false });
    }
    this.onFlush();
  }

  /** The last frame: draw it whole, with highlighted code. */
  finish() {
    this.flush();
    if (this.full) renderMarkdown(this.content, this.full, { final: true });
    if (this.thinkingBox) this.thinkingBox.querySelector("summary").textContent = "Thinking";
  }
}

export class ChatView {
  /**
   * @param {HTMLElement} container the scrolling message list
   * @param {{onRetry: (id: number) => void, onEdit: (id: number, text: string) => boolean,
   *          onRegenerate: () => void, onDeleteLast: () => void,
   *          onInspect: (message: object) => void,
   *          onVersion: (id: number, which: "prev"|"next") => void}} handlers
   * @param {HTMLButtonElement|null} jump the "to the latest message" button
   */
  constructor(container, handlers, jump = null) {
    this.container = container;
    this.handlers = handlers;
    this.jump = jump;
    this.showHosts = false; // several Ollama hosts: a reply's stats say which answered
    this.jumpLabel = ""; // what the jump button shows now ("" while hidden)
    this.unseen = false; // something arrived below while the user read further up
    this.messages = new Map(); // id -> the stored message, for the inspector
    this.notes = []; // {afterId: number|null, kind, text}: the page's own, not stored
    this.maxId = 0;
    this.stream = null;
    this.stick = true;
    this.settling = false; // see settleAtEnd
    this.drawing = false; // older messages still being added (see render)
    this.generation = 0; // counts renders, so slices of an older one stop
    container.addEventListener("scroll", () => {
      if (this.settling && this.stick) return; // heights arriving, not the user
      this.stick = this.nearBottom();
      if (this.stick) this.unseen = false;
      this.showJump();
    }, { passive: true });
    jump?.addEventListener("click", () => this.toLatest());
    // The pane shrinks when the banner or the system prompt box opens: stay at the end.
    new ResizeObserver(() => this.follow()).observe(container);
    // Older replies of a long chat are drawn as markdown only when scrolled near: parsing
    // and sanitizing 500 replies at once blocked the page for 400 ms (bench/long_chat.py).
    this.lazy = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        this.lazy.unobserve(entry.target);
        const content = entry.target.querySelector(".message-content[data-markdown]");
        if (!content) continue;
        renderMarkdown(content, content.dataset.markdown || "");
        delete content.dataset.markdown;
      }
    }, { root: container, rootMargin: "1500px 0px" });
    container.addEventListener("click", (event) => {
      const button = event.target.closest?.(".code-copy");
      if (!button) return;
      const code = button.closest(".code-block")?.querySelector("pre code");
      copyFeedback(button, code ? code.textContent : "", "Copy");
    });
    this.showEmptyState();
  }

  nearBottom(within = NEAR_BOTTOM_PX) {
    const c = this.container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < within;
  }

  follow() {
    if (this.stick) this.container.scrollTop = this.container.scrollHeight;
  }

  /** After a jump to the end from far away: messages not yet drawn there had an
   * estimated height (content-visibility), so arriving changes the heights around the
   * end. Follow it for a few frames, and do not take that scrolling for the user's. */
  settleAtEnd() {
    if (this.settling) return;
    this.settling = true;
    this.markBusy();
    let frames = 0;
    const check = () => {
      if (this.stick && !this.nearBottom(1)) {
        this.container.scrollTop = this.container.scrollHeight;
      }
      if (this.stick && ++frames < SETTLE_FRAMES) {
        requestAnimationFrame(check);
      } else {
        this.settling = false;
        this.markBusy();
      }
    };
    requestAnimationFrame(check);
  }

  /** aria-busy while the list is still being drawn or placed (also what tests wait on).
   * @param {boolean} [drawing] whether older messages are still being added */
  markBusy(drawing = this.drawing) {
    this.drawing = drawing;
    this.container.setAttribute("aria-busy", String(this.drawing || this.settling));
  }

  /** New content at the end: follow it, or tell a user who is reading further up. */
  grew() {
    if (this.stick) {
      this.follow();
    } else if (!this.unseen) {
      this.unseen = true;
      this.showJump();
    }
  }

  /** The button shows while the end is out of view, and says so when something new is
   * there. */
  showJump() {
    if (!this.jump) return;
    const label = this.stick ? "" : this.unseen ? "↓ New messages" : "↓ Latest";
    if (label === this.jumpLabel) return; // called on every scroll event: write on change
    this.jumpLabel = label;
    this.jump.hidden = !label;
    this.jump.classList.toggle("unseen", this.unseen);
    if (label) this.jump.textContent = label;
  }

  toLatest() {
    this.stick = true;
    this.unseen = false;
    this.follow();
    this.settleAtEnd();
    this.showJump();
  }

  // -- whole list ---------------------------------------------------------------

  /** Replace everything with the server's history (plus the page's notes).
   *
   * At the end of the list, the newest messages go in at once and older ones are added
   * above them in slices, one task each, so opening a 1,000-message chat never holds the
   * page for one long task (bench/long_chat.py); a later render or clear cancels the
   * slices still to come. A reader further up gets the whole list in one go instead, so
   * the message they read does not move; so does a search hit (`revealId`), shown at
   * once scrolled to its message. */
  render(history, revealId = null) {
    const messages = history.messages || [];
    const newMax = messages.reduce((max, m) => Math.max(max, m.id), 0);
    for (const note of this.notes) {
      if (note.afterId === null) note.afterId = newMax;
    }
    this.maxId = newMax;
    this.stream = null;
    this.messages = new Map(messages.map((m) => [m.id, m]));
    const last = messages[messages.length - 1];
    const eagerFrom = messages.length - EAGER_MARKDOWN;
    const generation = ++this.generation;
    this.lazy.disconnect();
    const slice = (from, to) => {
      const fragment = document.createDocumentFragment();
      const notesAt = (id) => this.notes.filter((n) => n.afterId === id)
        .forEach((n) => fragment.append(this.noteElement(n)));
      if (from === 0) notesAt(0);
      for (let index = from; index < to; index++) {
        const message = messages[index];
        fragment.append(this.messageElement(message, message === last, index >= eagerFrom));
        notesAt(message.id);
      }
      return fragment;
    };
    const reveal = revealId !== null && this.messages.has(revealId);
    if (reveal) this.stick = false;
    const stick = this.stick;
    const pane = this.container;
    if (!stick) {
      // A reader further up (a redraw after a reply, a reconnect): everything at once,
      // so the view stays on the message being read.
      const top = pane.scrollTop;
      pane.replaceChildren(slice(0, messages.length));
      if (!pane.children.length) this.showEmptyState();
      pane.scrollTop = top;
      this.markBusy(false);
      this.showJump();
      if (reveal) this.reveal(revealId);
      return;
    }
    let start = Math.max(0, messages.length - FIRST_SLICE);
    pane.replaceChildren(slice(start, messages.length));
    if (!pane.children.length) this.showEmptyState();
    this.markBusy(start > 0);
    this.follow();
    this.settleAtEnd();
    this.showJump();
    const addOlder = () => {
      if (generation !== this.generation) return; // replaced by a newer render or clear
      const from = Math.max(0, start - OLDER_SLICE);
      const fromBottom = pane.scrollHeight - pane.scrollTop;
      pane.prepend(slice(from, start));
      if (this.stick) this.follow();
      else pane.scrollTop = pane.scrollHeight - fromBottom; // the user scrolled up meanwhile
      start = from;
      if (start > 0) setTimeout(addOlder, 0);
      else this.markBusy(false);
    };
    if (start > 0) setTimeout(addOlder, 0);
  }

  /** Scroll a message to the middle of the pane and highlight it for a moment (a search
   * hit). Heights settle as messages around it are drawn: keep it centred a few frames. */
  reveal(id) {
    const article = this.container.querySelector(`.message[data-id="${Number(id)}"]`);
    if (!article) return false;
    this.stick = false;
    this.settling = false;
    this.markBusy();
    let frames = 0;
    const centre = () => {
      if (this.stick || !article.isConnected) return; // the user went to the end meanwhile
      article.scrollIntoView({ block: "center" });
      if (++frames < SETTLE_FRAMES) requestAnimationFrame(centre);
    };
    centre();
    article.classList.remove("found");
    void article.offsetWidth; // restart the highlight when the same hit is picked again
    article.classList.add("found");
    setTimeout(() => article.classList.remove("found"), 2500);
    article.tabIndex = -1;
    article.focus({ preventScroll: true });
    this.showJump();
    return true;
  }

  clear() {
    this.generation++;
    this.markBusy(false);
    this.notes = [];
    this.maxId = 0;
    this.stream = null;
    this.messages = new Map();
    this.container.replaceChildren();
    this.showEmptyState();
    this.toLatest();
  }

  showEmptyState() {
    const empty = el("div", "chat-empty");
    empty.append(el("p", "chat-empty-title", "No messages yet"));
    empty.append(el("p", null, "Pick a model, write a message and press Enter. "
      + "Type /help to see the commands."));
    this.container.replaceChildren(empty);
  }

  removeEmptyState() {
    this.container.querySelector(".chat-empty")?.remove();
  }

  append(node) {
    this.removeEmptyState();
    this.container.append(node);
    this.grew();
  }

  // -- one message --------------------------------------------------------------

  messageElement(m, isLast, eager = true) {
    const article = el("article", `message ${m.role} status-${m.status}`);
    article.dataset.id = String(m.id);
    article.dataset.status = m.status;
    // A failed message is never sent again: its failure box says so, not a context mark.
    const outside = !m.in_context && !["streaming", "pending", "failed"].includes(m.status);
    if (outside) article.classList.add("out-of-context");

    const meta = el("header", "message-meta");
    meta.append(el("span", "message-role", m.role === "user" ? "You" : "Assistant"));
    if (m.role === "assistant" && m.model) meta.append(el("span", "message-model", m.model));
    if (m.endpoint === "generate") meta.append(el("span", "tag", "/api/generate"));
    if (outside) {
      const tag = el("span", "tag context-label", "outside context window");
      if (m.window_reason) tag.title = m.window_reason;
      meta.append(tag);
    }
    const switcher = versionSwitcher(m, (id, which) => this.handlers.onVersion?.(id, which));
    if (switcher) meta.append(switcher);
    if (typeof m.created_at === "number") {
      const when = el("time", "message-time", formatWhen(m.created_at));
      when.dateTime = new Date(m.created_at * 1000).toISOString();
      when.title = new Date(m.created_at * 1000).toLocaleString();
      meta.append(when);
    }
    article.append(meta);

    if (m.thinking) article.append(thinkingBox(m.thinking, false));
    if (m.role === "assistant") {
      const content = el("div", "message-content markdown");
      if (eager) {
        renderMarkdown(content, m.content || "");
      } else {
        content.textContent = m.content || ""; // text until it is scrolled near
        content.dataset.markdown = m.content || "";
        // The message is watched, not its text: inside a message skipped by
        // content-visibility the text has no box, and Chromium did not always report it
        // once scrolled into view until something else redrew the page.
        this.lazy.observe(article);
      }
      article.append(content);
    } else {
      article.append(el("div", "message-content plain", m.content || ""));
    }
    if (m.images && m.images.length) article.append(thumbnails(m.images));

    if (m.role === "user" && m.status === "failed") {
      // Stopped before any text is the user's choice, not a failure: said plainly.
      const chosen = STOPPED_BEFORE_TEXT.test(m.error || "");
      if (chosen) article.classList.add("stopped-by-you");
      const failure = el("div", "failure");
      failure.append(el("span", null, chosen ? "You stopped it before any reply."
        : `Not answered: ${m.error || "no reply arrived"}`));
      if (isLast) {
        const retry = el("button", "button small retry-button", "Retry");
        retry.type = "button";
        retry.dataset.id = String(m.id);
        retry.addEventListener("click", () => this.handlers.onRetry(m.id));
        failure.append(retry);
      }
      article.append(failure);
    }
    if (m.role === "assistant" && CUT_SHORT[m.status]) {
      article.append(cutShort(m.status, m.error));
    }
    if (m.role === "assistant" && m.status === "streaming") {
      article.classList.add("streaming");
      article.append(el("div", "muted small", "Still being generated…"));
    }
    if (m.role === "assistant" && m.status !== "streaming") {
      const stats = formatStats(m.stats, this.showHosts);
      if (stats) article.append(el("div", "stats", stats));
    }
    if (m.id && m.status !== "streaming") article.append(this.actions(article, m, isLast));
    return article;
  }

  /** Copy, Edit, Inspect, Regenerate, Delete: buttons, so the keyboard reaches them. */
  actions(article, m, isLast) {
    const bar = el("div", "message-actions");
    const add = (label, className, title, onClick) => {
      const button = el("button", `action ${className}`, label);
      button.type = "button";
      button.title = title;
      // The name read out starts with the word on the button (what voice control users say).
      button.setAttribute("aria-label", title.toLowerCase().includes(label.toLowerCase())
        ? title : `${label}: ${title[0].toLowerCase()}${title.slice(1)}`);
      button.addEventListener("click", onClick);
      bar.append(button);
      return button;
    };
    const copy = add("Copy", "copy-button", "Copy this message", () =>
      copyFeedback(copy, m.content || "", "Copy"));
    if (m.role === "user") {
      add("Edit", "edit-button", "Edit and send again", () => this.startEdit(article, m));
    }
    if (m.role === "assistant" && (m.request || m.has_request)) {
      add("Inspect", "inspect-button", "Show the exact request sent to Ollama", () =>
        this.handlers.onInspect(m));
    }
    if (isLast && m.role === "assistant") {
      add("Regenerate", "regenerate-button", "Answer the last message again", () =>
        this.handlers.onRegenerate());
    }
    if (isLast) {
      add("Delete", "delete-last-button", "Delete the last exchange", () =>
        this.handlers.onDeleteLast());
    }
    return bar;
  }

  /** Swap a message's text for an editor; sending drops the messages after it. */
  startEdit(article, m) {
    if (article.querySelector(".edit-box")) return;
    const box = el("form", "edit-box");
    const area = el("textarea", "edit-input");
    area.value = m.content || "";
    area.rows = Math.min(10, Math.max(2, area.value.split("\n").length));
    area.setAttribute("aria-label", "Edit your message");
    const later = [...this.messages.keys()].filter((id) => id > m.id).length;
    const note = el("p", "muted small", later
      ? `Sending makes a new version; this one and the ${later} message${later === 1 ? ""
        : "s"} after it are kept (‹ › switches back).`
      : "Sending makes a new version and asks for a reply; this one is kept.");
    const send = el("button", "button small primary edit-send", "Send");
    send.type = "submit";
    const cancel = el("button", "button small secondary edit-cancel", "Cancel");
    cancel.type = "button";
    const row = el("div", "edit-actions");
    row.append(send, cancel);
    box.append(area, note, row);
    const content = article.querySelector(".message-content");
    content.hidden = true;
    content.after(box);
    const close = () => {
      box.remove();
      content.hidden = false;
    };
    cancel.addEventListener("click", close);
    box.addEventListener("submit", (event) => {
      event.preventDefault();
      if (area.value.trim() && this.handlers.onEdit(m.id, area.value)) close();
    });
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        box.requestSubmit();
      }
    });
    area.focus();
  }

  /** The message just sent, shown as soon as the server accepted it. */
  addUserMessage(id, text, images = []) {
    this.toLatest(); // the user's own message: show it and what follows
    this.maxId = Math.max(this.maxId, id);
    const article = this.messageElement(
      { id, role: "user", content: text, status: "pending", in_context: true, images }, false);
    article.querySelector(".message-actions")?.remove(); // back with the stored copy
    this.append(article);
  }

  /** An edit: its new version `newId` takes the place of `oldId` in view, and what
   * followed the old one leaves the view (it is kept with the old version). */
  replaceWithVersion(oldId, newId, text) {
    const images = this.messages.get(oldId)?.images || [];
    this.truncateAfter(oldId);
    this.container.querySelector(`.message[data-id="${Number(oldId)}"]`)?.remove();
    this.addUserMessage(newId, text, images);
  }

  /** Regenerate: the reply in view leaves the view (it is kept as a version). */
  truncateAfter(id) {
    for (const node of [...this.container.querySelectorAll(".message")]) {
      if (Number(node.dataset.id) > id || node.dataset.id === "0") node.remove();
    }
    const article = this.container.querySelector(`.message.user[data-id="${id}"]`);
    article?.querySelector(".message-actions")?.remove();
    article?.querySelector(".failure")?.remove();
  }

  /** Coming back to a conversation whose reply still streams: show it live again. */
  resumeReply(model, text, thinking) {
    const stale = [...this.container.querySelectorAll(".message.assistant.status-streaming")];
    stale.forEach((node) => node.remove());
    this.startReply(model);
    if (thinking) this.stream.addThinking(thinking);
    if (text) this.stream.addText(text);
    this.stream.flush();
  }

  /** A retried message leaves its failed state while the new reply runs. */
  markRetrying(id) {
    const article = this.container.querySelector(`.message.user[data-id="${id}"]`);
    if (!article) return;
    article.querySelector(".failure")?.remove();
    article.className = "message user status-pending";
    article.dataset.status = "pending";
  }

  // -- the streamed reply -------------------------------------------------------

  /** `waiting`: what to say until the first token ("loading gemma3:270m…"). */
  startReply(model, waiting = "") {
    const article = this.messageElement(
      { id: 0, role: "assistant", model, content: "", status: "streaming", in_context: true },
      false);
    article.querySelector(".muted.small")?.remove();
    if (waiting) {
      article.querySelector(".message-content").before(el("div", "reply-wait muted small",
        waiting));
    }
    article.classList.add("streaming");
    this.append(article);
    this.stream = new StreamTarget(article, () => this.grew());
  }

  appendChunk(text) {
    this.stream?.addText(text);
  }

  appendThinking(text) {
    this.stream?.addThinking(text);
  }

  /** The socket dropped: keep the text shown; the reply is picked up again on reconnect. */
  pauseReply() {
    this.stream?.flush();
    this.stream = null;
  }

  /** The reply ended: show what is known now; the history refetch then has the truth. */
  endReply(stats, error, cutStatus = "error") {
    const stream = this.stream;
    if (!stream) return;
    stream.finish();
    this.stream = null;
    const article = stream.article;
    article.classList.remove("streaming", "status-streaming");
    const status = error ? cutStatus : stats && stats.stopped ? "stopped" : "ok";
    article.classList.add(`status-${status}`);
    article.dataset.status = status;
    if (status !== "ok") article.append(cutShort(status, error));
    const line = formatStats(stats, this.showHosts);
    if (line) article.append(el("div", "stats", line));
    this.grew();
  }

  // -- the page's own notes -----------------------------------------------------

  /**
   * Show a system note ("info") or an error notice. `deferred` anchors it after whatever
   * the next history holds (for notes about a reply still being stored).
   */
  addNote(text, kind = "info", deferred = false) {
    const note = { afterId: deferred ? null : this.maxId, kind, text };
    this.notes.push(note);
    this.append(this.noteElement(note));
    return note;
  }

  /** Take back a note that no longer holds (e.g. "reconnecting…" once connected). */
  removeNote(note) {
    this.notes = this.notes.filter((other) => other !== note);
    note.element?.remove();
  }

  noteElement(note) {
    const box = el("div", `note note-${note.kind}`);
    note.element = box;
    box.setAttribute("role", note.kind === "error" ? "alert" : "note");
    box.append(el("span", "note-label", note.kind === "error" ? "Error" : "System"));
    box.append(el("pre", "note-text", note.text));
    return box;
  }
}
