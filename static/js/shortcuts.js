// Keyboard shortcuts for the whole page (the help dialog lists them).

import { showHelp } from "./dialogs.js";

/**
 * @param {{newChat: () => void, toggleSidebar: () => void, openSearch: () => void,
 *          focusComposer: () => void, replying: () => boolean, stop: () => void,
 *          drawerOpen: () => boolean}} act
 * @returns {(event: KeyboardEvent) => void} the page's keydown listener
 */
export function shortcuts(act) {
  return (event) => {
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (mod && event.shiftKey && key === "o") {
      event.preventDefault();
      act.newChat();
    } else if (mod && event.shiftKey && key === "s") {
      event.preventDefault();
      act.toggleSidebar();
    } else if (mod && !event.shiftKey && key === "k") {
      event.preventDefault();
      act.openSearch();
    } else if (mod && (key === "/" || key === "?")) {
      event.preventDefault();
      showHelp();
    } else if (event.key === "Escape" && event.shiftKey) {
      event.preventDefault();
      act.focusComposer();
    } else if (event.key === "Escape" && !mod && !document.querySelector("dialog[open]")) {
      if (act.replying()) {
        event.preventDefault();
        act.stop();
      } else if (act.drawerOpen()) {
        act.toggleSidebar();
      }
    }
  };
}
