// The system prompt being typed: whether the box holds unsaved text, and the unsaved
// text of each conversation left meanwhile (given back on coming back to it), and the one
// saved in a new chat, kept until its first message stores it.

export class SystemPrompt {
  #dirty = false;
  #drafts = new Map(); // conversation id -> system prompt typed there, not saved
  #kept = ""; // saved in a new chat: sent with its first message

  get kept() {
    return this.#kept;
  }

  /** Saved in a new chat, which has no row yet: its first message carries it. */
  keep(text) {
    this.#kept = text;
    this.#dirty = false;
  }

  get dirty() {
    return this.#dirty;
  }

  edited() {
    this.#dirty = true;
  }

  /** Leaving conversation `id` with `text` typed: kept for coming back. */
  leave(id, text) {
    if (this.#dirty && id) this.#drafts.set(id, text);
    this.#dirty = false;
  }

  /** Nothing typed here (a new screen, the server's text shown). */
  clean() {
    this.#dirty = false;
    this.#kept = "";
  }

  /** The text typed in `id` before leaving it (undefined when none); the box holds
   * unsaved text again once it is shown. */
  resumeDraft(id) {
    const draft = this.#drafts.get(id);
    if (draft !== undefined) this.#dirty = true;
    return draft;
  }

  /** The server stored conversation `id`'s system prompt. */
  saved(id, here) {
    this.#drafts.delete(id);
    if (here) this.#dirty = false;
  }
}
