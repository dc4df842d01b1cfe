// Switching between versions of a message. The server remembers which version is in
// view (POST /api/conversations/ID/branch); the conversation is then drawn again from
// its history, and the keyboard stays on the switcher that was used.

import * as api from "./api.js";

export class Branches {
  /**
   * @param {object} parts the models it reads (`conversation`, `reply`), the chat `view`,
   *   and `refreshHistory`
   */
  constructor({ conversation, reply, view, refreshHistory }) {
    Object.assign(this, { conversation, reply, view, refreshHistory });
  }

  async switchVersion(id, which) {
    const conversation = this.conversation.current;
    if (this.reply.runsIn(conversation)) {
      this.view.addNote("Wait for the reply to end (or stop it) before switching versions.",
        "error");
      return;
    }
    try {
      await api.switchBranch(conversation, id);
    } catch (err) {
      this.view.addNote(`Could not switch versions: ${err.message}`, "error");
      return;
    }
    await this.refreshHistory();
    if (this.conversation.current !== conversation) return;
    this.view.focusVersion(id, which);
  }

  /** Make version `id` the one in view in `conversation` before it is opened (a search
   * hit in a version not shown). A message already in view changes nothing; while a
   * reply runs there, or on failure, the conversation simply opens as it is. */
  async bringIntoView(conversation, id) {
    if (this.reply.runsIn(conversation)) return;
    try {
      await api.switchBranch(conversation, id);
    } catch {
      // opened as it is
    }
  }
}
