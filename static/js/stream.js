// The reply being streamed, drawn: its bubble, the thinking and the text arriving chunk
// by chunk (the DOM is touched at most once per animation frame), and the marks it gets
// when it ends. A StreamTarget owns the text drawn so far; which reply streams into the
// list is the list's (chat.js).

import { formatStats } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { el } from "./dom.js";
import { cutShort, thinkingBox } from "./message.js";

export class StreamTarget {
  /**
   * A new, empty reply bubble for `model`, not yet in the list.
   * @param {import("./message.js").MessageView} messages draws the bubble
   * @param {string} waiting what to say until the first token ("loading gemma3:270m…")
   * @param {() => void} onFlush called after each drawn frame (the list follows the end)
   */
  static start(messages, model, waiting, onFlush) {
    const article = messages.element(
      { id: 0, role: "assistant", model, content: "", status: "streaming", in_context: true },
      false);
    article.querySelector(".muted.small")?.remove();
    // Until the first token the bubble shows that a reply is coming (three pulsing dots,
    // read out once as "writing"), with the reason it is slow below when there is one.
    const typing = el("div", "reply-typing");
    typing.setAttribute("role", "img");
    typing.setAttribute("aria-label", `${model} is writing`);
    typing.append(el("span"), el("span"), el("span"));
    article.querySelector(".message-content").before(typing);
    if (waiting) {
      article.querySelector(".message-content").before(el("div", "reply-wait muted small",
        waiting));
    }
    article.classList.add("streaming");
    return new StreamTarget(article, onFlush);
  }

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

  /** The line above the reply until its first token: loading, or replies ahead. */
  setWaiting(text) {
    let line = this.article.querySelector(".reply-wait");
    if (!text || this.full || this.thinkingText) {
      line?.remove();
      return;
    }
    if (!line) {
      line = el("div", "reply-wait muted small");
      this.content.before(line);
    }
    line.textContent = text;
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
    if (this.pending || this.pendingThinking) {
      this.article.querySelector(".reply-wait")?.remove();
      this.article.querySelector(".reply-typing")?.remove();
    }
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

  /** The reply ended: draw it whole and mark how it ended, with its stats line.
   * @param {string} cutStatus the status of a reply that ended in `error` */
  end(stats, error, cutStatus, showHosts) {
    this.finish();
    const article = this.article;
    article.querySelector(".reply-typing")?.remove(); // ended before its first token
    article.querySelector(".reply-wait")?.remove();
    article.classList.remove("streaming", "status-streaming");
    const status = error ? cutStatus : stats && stats.stopped ? "stopped" : "ok";
    article.classList.add(`status-${status}`);
    article.dataset.status = status;
    if (status !== "ok") article.append(cutShort(status, error));
    const line = formatStats(stats, showHosts);
    if (line) article.append(el("div", "stats", line));
  }
}
