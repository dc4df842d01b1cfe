// The conversation's settings panel (a side panel on a wide screen, a bottom sheet on a
// phone) and the chip in the header that opens it and says what is changed ("System
// prompt · 3 changes", or "Defaults"). Closed, it gives the messages the screen; Escape
// closes it; focus goes into it when it opens and back to the chip when it closes.

export class SettingsPanel {
  /**
   * @param {{panel: HTMLElement, chip: HTMLButtonElement, summary: HTMLElement,
   *          count: HTMLElement, close: HTMLButtonElement, backdrop: HTMLElement}} els
   * @param {{describe: () => {system: boolean, changes: number}}} handlers what is
   *   changed now: a system prompt is set, and how many other settings differ from
   *   the defaults
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.chip.addEventListener("click", () => this.toggle());
    els.close.addEventListener("click", () => this.close());
    els.backdrop.addEventListener("click", () => this.close());
    els.panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.isOpen) return;
      event.preventDefault();
      event.stopPropagation(); // the page's Escape (stop the reply) is not meant
      this.close();
    });
    els.panel.addEventListener("change", () => this.refresh());
  }

  get isOpen() {
    return !this.els.panel.hidden;
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  open() {
    this.show(true);
    this.els.panel.focus();
  }

  /** Show it without taking the focus: a refused field is in it (static/js/params.js). */
  reveal() {
    if (!this.isOpen) this.show(true);
  }

  close() {
    if (!this.isOpen) return;
    this.show(false);
    this.els.chip.focus();
  }

  show(open) {
    this.els.panel.hidden = !open;
    this.els.backdrop.hidden = !open;
    this.els.chip.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("settings-open", open);
  }

  /** Say on the chip what is changed; called whenever the settings are shown anew. */
  refresh() {
    const { system, changes } = this.handlers.describe();
    const parts = [];
    if (system) parts.push("System prompt");
    if (changes) parts.push(`${changes} change${changes === 1 ? "" : "s"}`);
    this.els.summary.textContent = parts.length ? parts.join(" · ") : "Defaults";
    const total = changes + (system ? 1 : 0);
    this.els.count.textContent = String(total);
    this.els.count.hidden = !total;
    this.els.chip.classList.toggle("changed", total > 0);
  }
}
