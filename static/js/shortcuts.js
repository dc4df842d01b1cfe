// Keyboard shortcuts for the whole page (the help dialog lists them).

import { toggleSidebar } from "./chrome.js";
import { showHelp } from "./dialogs.js";
import { newChat } from "./navigation.js";
import { composer } from "./parts.js";
import { stop } from "./reply.js";
import { openSearch } from "./search.js";
import { replyingHere, state } from "./store.js";

export function onShortcut(event) {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (mod && event.shiftKey && key === "o") {
    event.preventDefault();
    newChat();
  } else if (mod && event.shiftKey && key === "s") {
    event.preventDefault();
    toggleSidebar();
  } else if (mod && !event.shiftKey && key === "k") {
    event.preventDefault();
    openSearch();
  } else if (mod && (key === "/" || key === "?")) {
    event.preventDefault();
    showHelp();
  } else if (event.key === "Escape" && event.shiftKey) {
    event.preventDefault();
    composer.focus();
  } else if (event.key === "Escape" && !mod && !document.querySelector("dialog[open]")) {
    if (replyingHere() || state.remoteGenerating) {
      event.preventDefault();
      stop();
    } else if (document.body.classList.contains("sidebar-open")) {
      toggleSidebar();
    }
  }
}
