// Search across conversations: asks the server as the user types (the newest answer
// wins), and opens a hit's conversation scrolled to its message.

import * as api from "./api.js";
import { closeSidebarOnPhone, openSidebar } from "./chrome.js";
import { openConversation } from "./navigation.js";
import { searchBox, view } from "./parts.js";
import { state } from "./store.js";

const TYPING_PAUSE_MS = 150;

let asked = 0; // bumped at every query: an older answer must not draw over a newer one
let timer = 0;

export function onQuery(text) {
  clearTimeout(timer);
  const seq = ++asked;
  if (!text.trim()) {
    searchBox.render(null);
    return;
  }
  timer = setTimeout(async () => {
    let body;
    try {
      body = await api.search(text);
    } catch (err) {
      if (seq === asked) searchBox.render([], text, `Search failed: ${err.message}`);
      return;
    }
    if (seq === asked) searchBox.render(body.hits || [], text);
  }, TYPING_PAUSE_MS);
}

/** Ctrl+K: the search box, with the sidebar open to show it. */
export function openSearch() {
  openSidebar();
  searchBox.focus();
}

/** The hit's conversation, scrolled to its message (once drawn, if it is not on screen).
 * A hit in a version of a message not in view still opens its conversation. */
export function openHit(hit) {
  if (hit.conversation === state.current) {
    closeSidebarOnPhone();
    view.reveal(hit.message);
    return;
  }
  state.reveal = hit.message;
  openConversation(hit.conversation);
}
