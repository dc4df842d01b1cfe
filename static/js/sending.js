// What the page sends about a reply: chat, retry, edit, regenerate, delete the last
// exchange, stop. Each frame carries the conversation's settings; what was sent waits in
// the reply (`pending`) until the server starts it or refuses it.

export class Sending {
  /**
   * @param {{connection: import("./connection.js").Connection,
   *          reply: import("./reply.js").Reply,
   *          conversation: import("./conversation.js").OpenConversation,
   *          drafts: import("./drafts.js").Drafts,
   *          fields: () => ?object, gone: () => void}} parts `fields`: what every reply
   *   frame carries (null: the settings cannot be sent as they are, and the page has said
   *   why); `gone`: say that the conversation on screen was deleted elsewhere
   */
  constructor({ connection, reply, conversation, drafts, fields, gone }) {
    this.connection = connection;
    this.reply = reply;
    this.conversation = conversation;
    this.drafts = drafts;
    this.fields = fields;
    this.gone = gone;
  }

  /** Send `frame` with the settings; what waits for its start is `pending` plus the
   * model and the conversation. */
  #send(frame, pending) {
    const fields = this.fields();
    if (!fields || !this.connection.send({ ...frame, ...fields })) return false;
    this.reply.sent({ ...pending, model: fields.model, conversation: this.conversation.current });
    return true;
  }

  /** A message; true when sent (the composer then empties, and the draft is gone). A
   * conversation deleted in another tab sends nothing, and says so again. */
  chat(text, images = []) {
    if (this.conversation.gone) {
      this.gone();
      return false;
    }
    const ids = images.map((image) => image.id);
    const frame = { type: "chat", text };
    if (ids.length) frame.images = ids;
    const id = this.conversation.current;
    const sent = this.#send(frame, { kind: "chat", text, images: ids });
    if (sent) this.drafts.forget(id);
    return sent;
  }

  retry(id) {
    this.#send({ type: "retry", id }, { kind: "retry", id });
  }

  regenerate() {
    this.#send({ type: "regenerate" }, { kind: "regenerate" });
  }

  edit(id, text) {
    return this.#send({ type: "edit", id, text }, { kind: "edit", id, text });
  }

  deleteLast() {
    this.connection.send({ type: "delete_last", conversation: this.conversation.current });
  }

  /** Stop belongs to the conversation that is replying: the frame names it, and the
   * server stops nothing when the reply runs elsewhere. */
  stop() {
    this.connection.send({ type: "stop", conversation: this.conversation.current });
  }
}
