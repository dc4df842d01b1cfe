// The conversation list: newest first, open, rename in place, delete (with undo).

import { el } from "./dom.js";


export class ConversationList {
  /**
   * @param {HTMLElement} list
   * @param {{onOpen: (id: number) => void, onRename: (id: number, title: string) => void,
   *          onDelete: (id: number) => void}} handlers
   */
  constructor(list, handlers) {
    this.list = list;
    this.handlers = handlers;
  }

  render(items, current, running) {
    if (!items.length) {
      const empty = el("li", "empty-state");
      empty.append(el("span", "empty-title", "No conversations yet"));
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(...items.map((c) => this.item(c, current, running)));
  }

  item(c, current, running) {
    const item = el("li", "conversation-item");
    item.dataset.id = String(c.id);
    if (c.id === current) item.classList.add("current");
    const title = c.title || "New chat";
    const open = el("button", "conversation-open");
    open.type = "button";
    open.append(el("span", "conversation-title", title));
    if (c.id === running) {
      open.append(el("span", "generating-dot", "●"));
      open.title = "A reply is being generated here";
      item.classList.add("generating");
    }
    if (c.id === current) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => this.handlers.onOpen(c.id));
    const rename = el("button", "icon-button conversation-rename", "✎");
    rename.type = "button";
    rename.setAttribute("aria-label", `Rename ${title}`);
    rename.title = "Rename";
    rename.addEventListener("click", () => this.startRename(item, c));
    const remove = el("button", "icon-button conversation-delete", "✕");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete ${title}`);
    remove.title = "Delete";
    remove.addEventListener("click", () => this.handlers.onDelete(c.id));
    item.append(open, rename, remove);
    return item;
  }

  startRename(item, c) {
    const input = el("input", "conversation-rename-input");
    input.type = "text";
    input.value = c.title || "";
    input.maxLength = 200;
    input.setAttribute("aria-label", "New title");
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      input.remove();
      item.classList.remove("renaming");
      if (save && title && title !== c.title) this.handlers.onRename(c.id, title);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
    item.classList.add("renaming");
    item.prepend(input);
    input.focus();
    input.select();
  }
}
