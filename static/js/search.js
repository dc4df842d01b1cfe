// Search across conversations: asks the server as the user types (the newest answer
// wins), and opens a hit's conversation scrolled to its message.

import * as api from "./api.js";

const TYPING_PAUSE_MS = 150;

export class Search {
  #asked = 0; // bumped at every query: an older answer must not draw over a newer one
  #timer = 0;

  /**
   * @param {object} parts `conversation` (told which message to reveal), the views
   *   `searchBox`, `view`, `chrome`, and `act`: bringIntoView, open, refreshHistory
   */
  constructor({ conversation, searchBox, view, chrome, act }) {
    Object.assign(this, { conversation, searchBox, view, chrome, act });
  }

  query(text) {
    clearTimeout(this.#timer);
    const seq = ++this.#asked;
    if (!text.trim()) {
      this.searchBox.render(null);
      return;
    }
    this.#timer = setTimeout(async () => {
      let body;
      try {
        body = await api.search(text);
      } catch (err) {
        if (seq === this.#asked) this.searchBox.render([], text, `Search failed: ${err.message}`);
        return;
      }
      if (seq === this.#asked) this.searchBox.render(body.hits || [], text);
    }, TYPING_PAUSE_MS);
  }

  /** Ctrl+K: the search box, with the sidebar open to show it. */
  open() {
    this.chrome.openSidebar();
    this.searchBox.focus();
  }

  /** The hit's conversation, scrolled to its message (once drawn, if it is not on
   * screen). A hit in a version not in view brings that version into view first. */
  async openHit(hit) {
    const here = hit.conversation === this.conversation.current;
    if (here && this.view.has(hit.message)) {
      this.chrome.closeSidebarOnPhone();
      this.view.reveal(hit.message);
      return;
    }
    await this.act.bringIntoView(hit.conversation, hit.message);
    this.conversation.revealLater(hit.message);
    if (!here) {
      this.act.open(hit.conversation);
      return;
    }
    this.chrome.closeSidebarOnPhone();
    this.act.refreshHistory();
  }
}
