// The chat pane: the list of messages (the server's history plus the page's own notes),
// drawn in slices with lazy markdown, and the reply being streamed into it. It owns what
// the list holds (messages by id, notes, which reply streams); one message's drawing is
// message.js's, the streamed reply's stream.js's, where the pane is scrolled scroll.js's.

import { renderMarkdown } from "./markdown.js";
import { el } from "./dom.js";
import { settleInPlace, signature } from "./finish.js";
import { copyFeedback, MessageView } from "./message.js";
import { PaneScroll } from "./scroll.js";
import { StreamTarget } from "./stream.js";

const EAGER_MARKDOWN = 40; // the newest replies are drawn as markdown at once
const FIRST_SLICE = 24; // messages drawn with the first paint of a conversation
const OLDER_SLICE = 50; // older messages added per task after it

export class ChatView {
  /**
   * @param {HTMLElement} container the scrolling message list
   * @param {{onRetry: (id: number) => void, onEdit: (id: number, text: string) => boolean,
   *          onRegenerate: () => void, onDeleteLast: () => void,
   *          onInspect: (message: object) => void,
   *          onVersion: (id: number, which: "prev"|"next") => void}} handlers
   * @param {HTMLButtonElement|null} jump the "to the latest message" button
   * @param {() => boolean} showHosts several Ollama hosts: a reply's stats say which
   *   answered
   */
  constructor(container, handlers, jump = null, showHosts = () => false) {
    this.container = container;
    this.scroll = new PaneScroll(container, jump);
    this.draw = new MessageView(handlers, {
      watch: (article) => this.lazy.observe(article),
      laterThan: (id) => [...this.messages.keys()].filter((other) => other > id).length,
    });
    this.showHosts = showHosts;
    this.messages = new Map(); // id -> the stored message, for the inspector
    this.notes = []; // {afterId: number|null, kind, text}: the page's own, not stored
    this.maxId = 0;
    this.stream = null;
    this.ended = null; // {article, text}: the reply that ended here, until it is settled
    this.drawnAs = new WeakMap(); // element -> signature of the message it shows
    this.generation = 0; // counts renders, so slices of an older one stop
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

  /** Follow the end, or say "↓ New messages" to a reader further up. */
  grew() {
    this.scroll.grew();
  }

  toLatest() {
    this.scroll.toLatest();
  }

  /** A reply runs here: the actions that would change the conversation step aside. */
  setReplying(replying) {
    this.container.classList.toggle("replying", replying);
  }

  /** Whether stored message `id` is in view. */
  has(id) {
    return this.messages.has(id);
  }

  hasMessages() {
    return this.messages.size > 0 || Boolean(this.container.querySelector(".message"));
  }

  /** The text of the newest reply as shown (markdown rendered), for reading out. */
  /** The last reply's text as it is read out: each block (heading, paragraph, list item,
   * code line) ends as a sentence, so a screen reader pauses between them. Its
   * `textContent` ran "Title" and "First point" together as "TitleFirst point". */
  lastReplyText() {
    const shown = [...this.container.querySelectorAll(".message.assistant .message-content")]
      .pop();
    const lines = (shown?.innerText ?? shown?.textContent ?? "").split(/\n+/)
      .map((line) => line.trim()).filter(Boolean);
    return lines.map((line) => (/[.!?:;…]$/.test(line) ? line : `${line}.`)).join(" ");
  }

  /** After a version switch: the keyboard stays on the switcher of message `id`. */
  focusVersion(id, which) {
    const group = this.container.querySelector(`.message[data-id="${Number(id)}"] .versions`);
    const button = group?.querySelector(`.version-${which}:not(:disabled)`)
      || group?.querySelector(".version-button:not(:disabled)");
    button?.focus();
  }

  messageElement(m, isLast, eager = true) {
    const article = this.draw.element(m, isLast, eager, this.showHosts());
    this.drawnAs.set(article, signature(m, isLast));
    return article;
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
    this.ended = null;
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
    const scroll = this.scroll;
    if (reveal) scroll.release();
    const pane = this.container;
    if (!scroll.stick) {
      // A reader further up (a redraw after a reply, a reconnect): everything at once,
      // so the view stays on the message being read.
      const top = pane.scrollTop;
      pane.replaceChildren(slice(0, messages.length));
      if (!pane.children.length) this.showEmptyState();
      pane.scrollTop = top;
      scroll.markBusy(false);
      scroll.showJump();
      if (reveal) this.reveal(revealId);
      return;
    }
    let start = Math.max(0, messages.length - FIRST_SLICE);
    pane.replaceChildren(slice(start, messages.length));
    if (!pane.children.length) this.showEmptyState();
    scroll.markBusy(start > 0);
    scroll.follow();
    scroll.settleAtEnd();
    scroll.showJump();
    const addOlder = () => {
      if (generation !== this.generation) return; // replaced by a newer render or clear
      const from = Math.max(0, start - OLDER_SLICE);
      const fromBottom = pane.scrollHeight - pane.scrollTop;
      pane.prepend(slice(from, start));
      if (scroll.stick) scroll.follow();
      else pane.scrollTop = pane.scrollHeight - fromBottom; // the user scrolled up meanwhile
      start = from;
      if (start > 0) setTimeout(addOlder, 0);
      else scroll.markBusy(false);
    };
    if (start > 0) setTimeout(addOlder, 0);
  }

  /** Scroll a message to the middle of the pane and highlight it for a moment (a search
   * hit); false when it is not in view. */
  reveal(id) {
    const article = this.container.querySelector(`.message[data-id="${Number(id)}"]`);
    if (!article) return false;
    this.scroll.reveal(article);
    return true;
  }

  clear() {
    this.generation++;
    this.scroll.markBusy(false);
    this.notes = [];
    this.maxId = 0;
    this.stream = null;
    this.ended = null;
    this.messages = new Map();
    this.container.replaceChildren();
    this.showEmptyState();
    this.toLatest();
  }

  showEmptyState() {
    const empty = el("div", "chat-empty");
    empty.append(el("p", "chat-empty-title", "No messages yet"));
    // True whether or not a model is picked yet ("Pick a model" read wrong once one was):
    // the picker and the composer say what is missing.
    empty.append(el("p", null, "Write a message and press Enter to chat with the model "
      + "chosen above. Type /help to see the commands."));
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
    this.drawnAs.delete(article); // no longer as drawn: the stored copy settles it
  }

  /** Coming back to a conversation whose reply still streams: show it live again. */
  resumeReply(model, text, thinking, waiting = "") {
    const stale = [...this.container.querySelectorAll(".message.assistant.status-streaming")];
    stale.forEach((node) => node.remove());
    this.startReply(model, text || thinking ? "" : waiting);
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
    this.drawnAs.delete(article);
  }

  // -- the streamed reply -------------------------------------------------------

  /** `waiting`: what to say until the first token ("loading gemma3:270m…"). */
  startReply(model, waiting = "") {
    const stream = StreamTarget.start(this.draw, model, waiting, () => this.grew());
    this.append(stream.article);
    this.stream = stream;
  }

  /** What to say until the first token (a `wait` frame); "" takes it away. */
  setWaiting(text) {
    this.stream?.setWaiting(text);
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
    this.stream = null;
    stream.end(stats, error, cutStatus, this.showHosts());
    this.ended = { article: stream.article, text: stream.full };
    this.grew();
  }

  /** The history after a reply that ended here: the reply takes its stored place (its
   * id, stats, actions) in the element it streamed into, and the list is updated in
   * place (finish.js); false when the history is not that list (then `render`). */
  settle(history) {
    const ended = this.ended;
    this.ended = null;
    const messages = history.messages || [];
    if (!ended?.article.isConnected || this.scroll.drawing || !settleInPlace(this.container,
      messages, ended, this.drawnAs, (m, isLast) => this.messageElement(m, isLast))) {
      return false;
    }
    const newMax = messages.reduce((max, m) => Math.max(max, m.id), 0);
    for (const note of this.notes) {
      if (note.afterId === null) note.afterId = newMax;
    }
    this.maxId = newMax;
    this.messages = new Map(messages.map((m) => [m.id, m]));
    this.scroll.follow(); // the actions bar came: still at the end for one who was
    return true;
  }

  // -- the page's own notes -----------------------------------------------------

  /**
   * Show a system note ("info") or an error notice. `deferred` anchors it after whatever
   * the next history holds (for notes about a reply still being stored).
   */
  addNote(text, kind = "info", deferred = false) {
    // The same error again with nothing in between (Ollama down, each try refused): the
    // one already shown says it; a wall of copies says nothing more.
    const last = this.notes.at(-1);
    if (kind === "error" && last && last.kind === kind && last.text === text
        && last.element?.isConnected && last.afterId === (deferred ? null : this.maxId)) {
      return last;
    }
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
