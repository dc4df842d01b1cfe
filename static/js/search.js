// Search across conversations: asks the server as the user types (the newest answer
// wins), and opens a hit's conversation scrolled to its message.

import * as api from "./api.js";
import { bringIntoView } from "./branches.js";
import { closeSidebarOnPhone, openSidebar } from "./chrome.js";
import { openConversation, refreshHistory } from "./navigation.js";
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
 * A hit in a version of a message not in view brings that version into view first. */
export async function openHit(hit) {
  const here = hit.conversation === state.current;
  if (here && view.messages.has(hit.message)) {
    closeSidebarOnPhone();
    view.reveal(hit.message);
    return;
  }
  await bringIntoView(hit.conversation, hit.message);
  state.reveal = hit.message;
  if (!here) {
    openConversation(hit.conversation);
    return;
  }
  closeSidebarOnPhone();
  refreshHistory();
}
