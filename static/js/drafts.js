// What is typed in each conversation's composer and not sent yet: one draft per
// conversation (a new chat not stored yet has its own), kept across reloads, so text
// typed in one never follows into another, where Enter would send it there.

import { KEYS } from "./store.js";

export class Drafts {
  /** @param {import("./store.js").Store} store */
  constructor(store) {
    this.store = store;
  }

  /** The text typed in conversation `id` (null: the new chat), "" when none. */
  of(id) {
    return this.store.read(KEYS.draft(id));
  }

  keep(id, text) {
    if (text) this.store.write(KEYS.draft(id), text);
    else this.store.remove(KEYS.draft(id));
  }

  /** It was sent. */
  forget(id) {
    this.store.remove(KEYS.draft(id));
  }
}
