// Who answers: whether the WebChat server answered the last request at all, and whether
// Ollama behind it is reachable ("" = yes, else the reason). Listeners hear every change.

export class Reachability extends EventTarget {
  #serverDown = false;
  #ollamaDown = "";

  get serverDown() {
    return this.#serverDown;
  }

  get ollamaDown() {
    return this.#ollamaDown;
  }

  setServerDown(down) {
    this.#serverDown = Boolean(down);
    this.dispatchEvent(new Event("change"));
  }

  /** @param {string} message why Ollama does not answer; "" once it does again */
  setOllamaDown(message) {
    const wasDown = Boolean(this.#ollamaDown);
    this.#ollamaDown = message || "";
    this.dispatchEvent(new Event("change"));
    if (wasDown && !message) this.dispatchEvent(new Event("ollamaback"));
  }
}
