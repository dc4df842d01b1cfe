// Moving between conversations: the list (refreshed from the server, and when another
// tab changes it), opening one with its own draft, new (not stored until its first
// message), rename, delete (with Undo, put back in place), import, and a chat not stored
// yet becoming a stored conversation (its first message).

import * as api from "./api.js";
import { toast } from "./dialogs.js";

/** "Deleted “Hi.”." has two full stops: a title ending a sentence gets none of ours. */
export function deletedText(title) {
  return `Deleted “${title}”${/[.!?…]$/.test(title) ? "" : "."}`;
}

export class Navigation {
  #deleting = new Set(); // deleted from this tab: its push is not "another tab"
  #goneNote = null;

  /**
   * @param {object} parts the models it changes (`conversations`, `conversation`,
   *   `settings`, `drafts`), reads (`reply`), the views (`list`, `view`, `toolbar`,
   *   `composer`, `chrome`), and `act`: refreshHistory, showExport, updateControls,
   *   leaveSystem, cleanSystem, newSettings
   */
  constructor({ conversations, conversation, settings, drafts, reply, list, view, toolbar,
    composer, chrome, act }) {
    Object.assign(this, { conversations, conversation, settings, drafts, reply, list, view,
      toolbar, composer, chrome, act });
  }

  // -- the draft in the composer ------------------------------------------------------

  /** Typed in the composer: the draft of the conversation on screen. */
  typed(text) {
    this.drafts.keep(this.conversation.current, text);
  }

  /** The conversation on screen's own draft in the composer. */
  showDraft() {
    this.composer.showText(this.drafts.of(this.conversation.current));
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

  open(id, preload = true) {
    this.chrome.closeSidebarOnPhone();
    if (id === this.conversation.current && !this.conversation.fresh) {
      this.composer.focus();
      return;
    }
    this.act.leaveSystem(); // unsaved text there is kept for coming back
    this.#dropGoneNote();
    this.conversation.open(id, preload);
    this.settings.forget(); // until its history comes, nothing is saved into it
    this.chrome.showConversationError(""); // an import or rename error was about the last
    this.composer.notSent(""); // so was a message that was not sent
    this.view.clear();
    this.renderList();
    this.act.updateControls();
    this.act.refreshHistory();
    this.showDraft();
    this.composer.focus();
  }

  /** An empty chat with the fields' settings; nothing is stored until its first message
   * (which carries the settings and system prompt chosen meanwhile), so an unused one
   * leaves no row in the list. */
  newChat() {
    this.chrome.closeSidebarOnPhone();
    const { conversation } = this;
    const empty = !this.view.hasMessages() && !this.reply.runsIn(conversation.current);
    if (empty && !conversation.gone && (conversation.current || conversation.draft)) {
      this.composer.focus(); // this one is still empty: no need for another
      return;
    }
    this.act.leaveSystem();
    this.#dropGoneNote();
    conversation.startNew(this.act.newSettings());
    this.act.cleanSystem();
    this.settings.forget();
    this.chrome.showConversationError("");
    this.composer.notSent(""); // a message not sent was about the last one
    this.view.clear();
    this.renderList();
    this.act.updateControls();
    this.act.refreshHistory();
    this.showDraft();
    this.composer.focus();
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
    this.#deleting.add(id); // its push may come before the answer
    try {
      await api.deleteConversation(id);
      this.chrome.showConversationError("");
    } catch (err) {
      this.#deleting.delete(id);
      this.chrome.showConversationError(`Could not delete: ${err.message}`);
      return;
    }
    this.conversations.remove(id);
    const wasOpen = id === this.conversation.current;
    if (wasOpen) {
      const next = this.conversations.items[0];
      if (next) this.open(next.id);
      else this.#startDraft(); // the last one went: an empty chat, stored once used
    }
    const instead = this.conversation.current;
    this.renderList();
    toast(deletedText(title), "Undo", () => this.#restore(id,
      wasOpen && this.conversation.current === instead && !this.conversation.gone));
  }

  /** Undo: back in its place in the list (its last activity is unchanged); on screen
   * again, without loading its model, only when this tab showed it and still shows what
   * the delete put there instead. */
  async #restore(id, reopen) {
    try {
      await api.restoreConversation(id);
    } catch (err) {
      this.chrome.showConversationError(`Could not restore: ${err.message}`);
      return;
    } finally {
      this.#deleting.delete(id);
    }
    await this.refreshList();
    if (reopen) this.open(id, false);
  }

  // -- changes made in another tab (a `conversations` frame) -------------------------

  frames = {
    conversations: (frame) => this.#changed(frame),
  };

  #changed(frame) {
    const id = frame.conversation;
    const here = id === this.conversation.current;
    if (frame.change === "deleted" && here && !this.#deleting.has(id)) {
      this.conversation.goneElsewhere();
      this.sayGone(frame.undo_seconds > 0);
    } else if (frame.change === "restored" && here && this.conversation.gone) {
      this.conversation.back();
      this.#dropGoneNote();
      this.act.refreshHistory();
    }
    this.refreshList();
  }

  /** The conversation on screen was deleted in another tab: it stays on screen and its
   * draft in the composer; Enter says so again instead of failing unseen. */
  sayGone(undoable = true) {
    this.#dropGoneNote();
    this.#goneNote = this.view.addNote("This conversation was deleted in another tab. "
      + "Undo puts it back; New chat starts another (your draft is kept).", "error");
    const id = this.conversation.current;
    if (undoable) {
      toast("Deleted in another tab.", "Undo", () => this.#restore(id, false));
    }
  }

  #dropGoneNote() {
    if (this.#goneNote) this.view.removeNote(this.#goneNote);
    this.#goneNote = null;
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
    this.showDraft();
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
}
