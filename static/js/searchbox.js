// The search box in the sidebar and its results. A snippet arrives as plain text plus
// the offsets of each match; the match is marked by building text nodes and <mark>
// elements, never by turning text into HTML.

import { el } from "./dom.js";

/** Text with [start, end) ranges wrapped in <mark>, as DOM nodes. */
export function markedText(text, marks) {
  const nodes = [];
  let at = 0;
  for (const [start, end] of marks || []) {
    if (!(start >= at && end > start && end <= text.length)) continue;
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    nodes.push(el("mark", null, text.slice(start, end)));
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

export class SearchBox {
  /**
   * @param {{input: HTMLInputElement, results: HTMLUListElement, status: HTMLElement,
   *          list: HTMLElement}} els `list` is the conversation list the results replace
   * @param {{onQuery: (text: string) => void, onPick: (hit: object) => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.input.addEventListener("input", () => handlers.onQuery(els.input.value));
    els.input.form?.addEventListener("submit", (event) => event.preventDefault());
    els.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && els.input.value) {
        event.stopPropagation(); // Escape here clears the search, it does not stop a reply
        event.preventDefault();
        this.reset();
      } else if (event.key === "ArrowDown" || event.key === "Enter") {
        const first = els.results.querySelector("button");
        if (first) {
          event.preventDefault();
          if (event.key === "Enter") first.click();
          else first.focus();
        }
      }
    });
    els.results.addEventListener("keydown", (event) => {
      const buttons = [...els.results.querySelectorAll("button")];
      const index = buttons.indexOf(document.activeElement);
      if (index < 0) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = index + (event.key === "ArrowDown" ? 1 : -1);
        if (next < 0) els.input.focus();
        else buttons[Math.min(next, buttons.length - 1)].focus();
      } else if (event.key === "Escape") {
        event.stopPropagation();
        event.preventDefault();
        els.input.focus();
      }
    });
  }

  focus() {
    this.els.input.focus();
    this.els.input.select();
  }

  /** Back to the conversation list. */
  reset() {
    this.els.input.value = "";
    this.handlers.onQuery("");
  }

  /** null = no search (the conversation list shows); else the hits of `text`. */
  render(hits, text = "", error = "") {
    const searching = hits !== null || Boolean(error);
    this.els.results.hidden = !searching;
    this.els.list.hidden = searching;
    this.els.status.hidden = !searching;
    if (!searching) {
      this.els.results.replaceChildren();
      this.els.status.textContent = "";
      return;
    }
    this.els.status.textContent = error || (hits.length
      ? `${hits.length}${hits.length >= 50 ? "+" : ""} found` : `Nothing found for “${text}”`);
    this.els.results.replaceChildren(...(hits || []).map((hit) => this.item(hit)));
  }

  item(hit) {
    const item = el("li", "search-hit");
    const open = el("button", "search-open");
    open.type = "button";
    open.dataset.conversation = String(hit.conversation);
    open.dataset.message = String(hit.message);
    const head = el("span", "search-hit-head");
    head.append(el("span", "search-hit-title", hit.title || "New chat"),
      el("span", "search-hit-role", hit.role === "user" ? "You" : "Assistant"));
    const snippet = el("span", "search-hit-snippet");
    snippet.append(...markedText(hit.snippet || "", hit.marks));
    open.append(head, snippet);
    open.addEventListener("click", () => this.handlers.onPick(hit));
    item.append(open);
    return item;
  }
}
