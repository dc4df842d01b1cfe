// Moving between conversations: the list (refreshed from the server), opening one,
// new, rename, delete (with Undo), import, and a chat not stored yet becoming a stored
// conversation (its first message, or a save).

import * as api from "./api.js";
import { toast } from "./dialogs.js";

export class Navigation {
  #creating = null; // the POST in flight: two quick saves make one conversation

  /**
   * @param {object} parts the models it changes (`conversations`, `conversation`,
   *   `settings`), reads (`reply`), the views (`list`, `view`, `toolbar`, `composer`,
   *   `chrome`), and `act`: refreshHistory, showExport, updateControls, leaveSystem,
   *   cleanSystem, newSettings
   */
  constructor({ conversations, conversation, settings, reply, list, view, toolbar, composer,
    chrome, act }) {
    Object.assign(this, { conversations, conversation, settings, reply, list, view, toolbar,
      composer, chrome, act });
  }

  async refreshList() {
    try {
      const body = await api.listConversations();
      this.conversations.set(body.conversations);
      this.chrome.showConversationError("");
    } catch (err) {
      if (err.status !== 0) {
        this.chrome.showConversationError(`Could not list conversations: ${err.message}`);
      }
      return;
    }
    this.renderList();
  }

  renderList() {
    const current = this.conversation.current;
    this.list.render(this.conversations.items, current, this.reply.running?.conversation);
    const item = this.conversations.find(current);
    if (item) this.toolbar.showTitle(item.title);
  }

  open(id) {
    this.chrome.closeSidebarOnPhone();
    if (id === this.conversation.current) {
      this.composer.focus();
      return;
    }
    this.act.leaveSystem(); // unsaved text there is kept for coming back
    this.conversation.open(id);
    this.settings.forget(); // until its history comes, nothing is saved into it
    this.chrome.showConversationError(""); // an import or rename error was about the last
    this.composer.notSent(""); // so was a message that was not sent
    this.view.clear();
    this.renderList();
    this.act.updateControls();
    this.act.refreshHistory();
    this.composer.focus();
  }

  async newChat() {
    this.chrome.closeSidebarOnPhone();
    const { conversation } = this;
    const empty = !this.view.hasMessages() && !this.reply.runsIn(conversation.current);
    if (empty && (conversation.current || conversation.draft)) {
      this.composer.focus(); // this one is still empty: no need for another
      return;
    }
    try {
      const created = await api.createConversation({ settings: this.act.newSettings() });
      this.chrome.showConversationError("");
      this.conversations.add({ ...created, messages: 0 });
      this.open(created.id);
    } catch (err) {
      this.chrome.showConversationError(err.message);
    }
  }

  async rename(id, title) {
    try {
      await api.updateConversation(id, { title });
      this.chrome.showConversationError("");
    } catch (err) {
      this.chrome.showConversationError(`Could not rename: ${err.message}`);
    }
    this.refreshList();
  }

  async remove(id) {
    const title = this.conversations.find(id)?.title || "New chat";
    try {
      await api.deleteConversation(id);
      this.chrome.showConversationError("");
    } catch (err) {
      this.chrome.showConversationError(`Could not delete: ${err.message}`);
      return;
    }
    this.conversations.remove(id);
    if (id === this.conversation.current) {
      const next = this.conversations.items[0];
      if (next) this.open(next.id);
      else this.#startDraft(); // the last one went: an empty chat, stored once used
    }
    this.renderList();
    toast(`Deleted “${title}”.`, "Undo", async () => {
      try {
        await api.restoreConversation(id);
        await this.refreshList();
        this.open(id);
      } catch (err) {
        this.chrome.showConversationError(`Could not restore: ${err.message}`);
      }
    });
  }

  /** No conversation on screen: the server's newest one, or else an empty chat that
   * nothing stores until its first message or save. */
  #startDraft() {
    this.conversation.close();
    this.act.cleanSystem();
    this.settings.forget();
    this.view.clear();
    this.act.updateControls();
    this.act.refreshHistory();
  }

  async importFile(file) {
    try {
      const created = await api.importConversation(await file.text());
      this.chrome.showConversationError("");
      await this.refreshList();
      this.open(created.id);
    } catch (err) {
      this.chrome.showConversationError(`Could not import ${file.name}: ${err.message}`);
    }
  }

  // -- a chat not stored yet ---------------------------------------------------------

  /** The conversation the server made for this screen's chat (its first message, a save)
   * is the one on screen from now on. */
  adopt(id) {
    this.conversation.adopt(id);
    this.settings.adopt(id); // what the fields hold now is this conversation's
    this.act.showExport();
  }

  /** The conversation on screen, created with the fields' settings when there is none yet
   * (a system prompt or a parameter saved before the first message). */
  ensureConversation() {
    if (this.conversation.current) return Promise.resolve(this.conversation.current);
    this.#creating ??= api.createConversation({
      settings: { ...this.settings.saved, ...this.act.newSettings() },
    }).then((created) => {
      if (!this.conversation.current) this.adopt(created.id);
      this.settings.stored(created.settings);
      this.refreshList();
      return this.conversation.current;
    }).finally(() => {
      this.#creating = null;
    });
    return this.#creating;
  }
}
