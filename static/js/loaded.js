// The models Ollama holds in memory (/api/loaded and the pushed `loaded` frame), which
// are loading because they were picked (POST /api/load), which are being unloaded, the
// model a reply waits for, and the context each was last loaded with.

import { KEYS } from "./store.js";

export class Loaded {
  #list = [];
  #seq = 0; // bumped at every fetch and push: an older answer is dropped
  #known = false; // /api/ps answered at least once
  #preloading = new Set(); // models being loaded because they were picked
  #wanted = ""; // a model to load once the loaded list is known
  #unloading = new Set(); // "host|model" being unloaded from here
  #awaited = ""; // the model a reply is waiting for, not yet listed
  #context = new Map(); // model name -> context length it was last loaded with
  #unloadFailed = null; // {name, host, message}: kept beside the card until the next action

  /** @param {import("./store.js").Store} store */
  constructor(store) {
    this.store = store;
  }

  get list() {
    return this.#list;
  }

  get known() {
    return this.#known;
  }

  get awaited() {
    return this.#awaited;
  }

  /** Models loading on a pick (`picked`) or for a reply, not listed yet. */
  pendingNames(picked = [...this.#preloading]) {
    const waiting = [...picked];
    if (this.#awaited) waiting.push(this.#awaited);
    return [...new Set(waiting)].filter((name) => !this.#list.some((m) => m.name === name));
  }

  isLoaded(name) {
    return this.#list.some((m) => m.name === name && !m.unloading);
  }

  isListed(name) {
    return this.#list.some((m) => m.name === name);
  }

  isPreloading(name) {
    return this.#preloading.has(name);
  }

  /** An Unload of `name` on `host` clicked here, or of `name` wherever it is loaded. */
  isUnloading(name, host = "") {
    return this.#unloading.has(`${host}|${name}`) || this.#unloading.has(`|${name}`);
  }

  /** A fetch begins: its number, to check with `isLatest` once it answers. */
  asking() {
    return ++this.#seq;
  }

  isLatest(seq) {
    return seq === this.#seq;
  }

  /** A new list (fetched or pushed): the models it shows are no longer "loading…".
   * @param {boolean} pushed a push is newer than any fetch still in flight */
  listed(list, pushed = false) {
    if (pushed) this.#seq += 1;
    this.#list = list || [];
    this.#known = true;
    for (const name of [...this.#preloading]) {
      if (this.isLoaded(name)) this.#preloading.delete(name);
    }
    if (this.#list.some((m) => m.name === this.#awaited)) this.#awaited = "";
  }

  /** Ollama did not answer: nothing is known to be loaded. */
  unknown(pushed = false) {
    if (pushed) this.#seq += 1;
    this.#list = [];
  }

  /** Load `name` once the list is known (a pick before Ollama answered). */
  wantLater(name) {
    this.#wanted = name;
  }

  takeWanted() {
    const wanted = this.#wanted;
    this.#wanted = "";
    return wanted;
  }

  preloading(name, busy) {
    if (busy) this.#preloading.add(name);
    else this.#preloading.delete(name);
  }

  unloadingNow(name, host, busy) {
    if (busy) this.#unloading.add(`${host}|${name}`);
    else this.#unloading.delete(`${host}|${name}`);
  }

  /** Why an Unload of `name` on `host` was refused; null clears it. A refresh of the list
   * does not: a guest refused for a good reason must get to read it. */
  unloadRefused(failure) {
    this.#unloadFailed = failure;
  }

  get unloadFailed() {
    return this.#unloadFailed;
  }

  /** A reply waits for `model` to load ("" = none waits). */
  await(model) {
    this.#awaited = model || "";
  }

  /** The context `model` runs with: as loaded now, or as it was loaded last (kept
   * across reloads); null when never seen loaded. */
  contextOf(model) {
    const loaded = this.#list.find((m) => m.name === model);
    const key = KEYS.context(model);
    if (loaded?.context_length) {
      if (this.#context.get(model) !== loaded.context_length) {
        this.#context.set(model, loaded.context_length);
        this.store.write(key, String(loaded.context_length));
      }
      return { size: loaded.context_length, source: "as loaded" };
    }
    // Unloaded since: the context it ran with, not a jump to the model's maximum.
    const before = this.#context.get(model) || Number(this.store.read(key));
    return before ? { size: before, source: "as it was loaded last" } : null;
  }
}
