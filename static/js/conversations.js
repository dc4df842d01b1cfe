// The conversation list as the server last listed it, newest first.

export class Conversations {
  #items = [];

  get items() {
    return this.#items;
  }

  find(id) {
    return this.#items.find((c) => c.id === id);
  }

  set(items) {
    this.#items = items || [];
  }

  /** One just made here, shown before the next listing. */
  add(item) {
    this.#items = [item, ...this.#items];
  }

  remove(id) {
    this.#items = this.#items.filter((c) => c.id !== id);
  }
}
