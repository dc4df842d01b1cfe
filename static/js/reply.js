// This browser's reply: what was sent and not yet started (`pending`), and the reply
// running (`running`: its conversation, model, the text and thinking so far, a notice,
// why it is slow to start (`waiting`)),
// which keeps streaming while another conversation is on screen. `seq` counts starts,
// so a history fetched before one does not draw over it.

export class Reply {
  #pending = null; // {kind, conversation, model, text?, id?, images?}
  #running = null; // {conversation, model, text, thinking, notice, waiting}
  #seq = 0;

  get pending() {
    return this.#pending;
  }

  get running() {
    return this.#running;
  }

  get seq() {
    return this.#seq;
  }

  /** The reply runs in conversation `id` (null: none runs, or not there). */
  runsIn(id) {
    return Boolean(this.#running && this.#running.conversation === id);
  }

  sent(pending) {
    this.#pending = pending;
  }

  /** The server made the conversation of a chat sent from one not stored yet. */
  pendingStoredAs(conversation) {
    if (this.#pending) this.#pending = { ...this.#pending, conversation };
  }

  /** Nothing is waiting any more (refused, answered by a command); what was. */
  dropPending() {
    const pending = this.#pending;
    this.#pending = null;
    return pending;
  }

  /** Ours started (`pending` becomes `running`), or another tab's is followed. */
  start(conversation, model, text = "", thinking = "", notice = "") {
    this.#pending = null;
    this.#running = { conversation, model, text, thinking, notice };
    this.#seq += 1;
  }

  /** Follow another tab's reply; what was pending stays pending. */
  follow(conversation, model, text = "", thinking = "", notice = "") {
    this.#running = { conversation, model, text, thinking, notice };
    this.#seq += 1;
  }

  addText(text) {
    this.#running.text += text;
  }

  addThinking(text) {
    this.#running.thinking += text;
  }

  setNotice(text) {
    this.#running.notice = text;
  }

  /** Why the reply is slow to start (a `wait` frame), kept so a bubble drawn later (a
   * tab that joined, a redraw from history) says it too; "" once under way. */
  setWaiting(text) {
    this.#running.waiting = text;
  }

  end() {
    this.#running = null;
  }
}
