// The theme: the system's unless the user picks one (the toggle cycles system, light,
// dark; remembered). The dark palette is written once, in css/dark.css: its link's media
// is the system's dark scheme, every screen (dark) or none (light).

import { KEYS } from "./store.js";

const THEMES = ["system", "light", "dark"];
const PALETTE_MEDIA = { system: "(prefers-color-scheme: dark)", light: "not all", dark: "all" };

export class Theme {
  /**
   * @param {HTMLButtonElement} button the toggle
   * @param {HTMLLinkElement} palette the dark palette's stylesheet link
   * @param {import("./store.js").Store} store
   */
  constructor(button, palette, store) {
    this.button = button;
    this.palette = palette;
    this.store = store;
    const saved = store.read(KEYS.theme);
    this.theme = THEMES.includes(saved) ? saved : "system";
    button.addEventListener("click", () => {
      this.theme = THEMES[(THEMES.indexOf(this.theme) + 1) % THEMES.length];
      store.write(KEYS.theme, this.theme);
      this.apply();
    });
    this.apply();
  }

  apply() {
    const theme = this.theme;
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    this.palette.media = PALETTE_MEDIA[theme];
    const label = theme === "system" ? "follows the system" : theme;
    this.button.setAttribute("aria-label", `Theme: ${label} (click to change)`);
    this.button.title = `Theme: ${label}`;
    this.button.textContent = { system: "◐", light: "☀", dark: "☾" }[theme];
  }
}
