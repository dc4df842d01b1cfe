// One message, drawn: its header (who, model, tags, versions, time), its text, images,
// failure or cut-short mark, stats line and action buttons, and the editor of a user
// message. It owns no state: clicks become the list's named callbacks (handlers).
// User text goes in through textContent; model text only through markdown.js (marked,
// then DOMPurify); nothing from either is ever assigned to innerHTML.

import { formatStats, formatWhen } from "./format.js";
import { copyText } from "./clipboard.js";
import { renderMarkdown } from "./markdown.js";
import { uploadUrl } from "./api.js";
import { el } from "./dom.js";
import { versionSwitcher } from "./versions.js";

export const CUT_SHORT = { stopped: "stopped", error: "error", interrupted: "interrupted" };
const STOPPED_BEFORE_TEXT = /^Stopped before any reply/; // the server's reason for a stop

export function thinkingBox(text, open) {
  const box = el("details", "thinking");
  box.open = open;
  box.append(el("summary", null, "Thinking"));
  const body = el("div", "thinking-text");
  body.append(document.createTextNode(text));
  box.append(body);
  return box;
}

/** The mark on a reply that ended early; its text is kept above it. */
export function cutShort(status, reason) {
  const box = el("div", "cut-short");
  box.append(el("span", "cut-short-label", `Cut short: ${CUT_SHORT[status]}`));
  // A stop's reason only repeats the label; an error or an interruption says why.
  if (reason && status !== "stopped") box.append(el("span", null, reason));
  return box;
}

export function copyFeedback(button, text, label) {
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

export class MessageView {
  /**
   * @param {{onRetry: (id: number) => void, onEdit: (id: number, text: string) => boolean,
   *          onRegenerate: () => void, onDeleteLast: () => void,
   *          onInspect: (message: object) => void,
   *          onVersion: (id: number, which: "prev"|"next") => void}} handlers
   * @param {{watch: (article: HTMLElement) => void, laterThan: (id: number) => number}} list
   *   `watch`: draw this message's markdown once it is scrolled near; `laterThan`: how
   *   many messages in view follow message `id`
   */
  constructor(handlers, list) {
    this.handlers = handlers;
    this.list = list;
  }

  /** @param {boolean} showHosts several Ollama hosts: the stats say which answered */
  element(m, isLast, eager = true, showHosts = false) {
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
      if (typeof m.tokens === "number") tag.title += ` (${m.tokens.toLocaleString("en")} tokens)`;
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
        this.list.watch(article);
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
      const stats = formatStats(m.stats, showHosts);
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
      // The message's element at click time: a settled list updates it in place.
      add("Edit", "edit-button", "Edit and send again", (event) =>
        this.startEdit(event.currentTarget.closest(".message") || article, m));
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
    const later = this.list.laterThan(m.id);
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
    // While editing, the message's own Copy and Edit are hidden: they acted on the text
    // the editor replaces, and a second Edit did nothing.
    const actions = article.querySelector(".message-actions");
    content.hidden = true;
    if (actions) actions.hidden = true;
    content.after(box);
    const close = () => {
      box.remove();
      content.hidden = false;
      if (actions) actions.hidden = false;
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
}
