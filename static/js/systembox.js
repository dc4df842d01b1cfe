// The system prompt box, drawn: its text, Save, the line that says what happened and the
// badge that says one is set. Typing and saving become named callbacks.

export class SystemBox {
  /**
   * @param {{input: HTMLTextAreaElement, save: HTMLButtonElement, status: HTMLElement,
   *          badge: HTMLElement}} els
   * @param {{onEdit: () => void, onSave: () => void, onShown?: () => void}} handlers
   *   onShown: the badge changed (the header's chip says so)
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.input.addEventListener("input", () => handlers.onEdit());
    els.save.addEventListener("click", () => handlers.onSave());
  }

  get text() {
    return this.els.input.value;
  }

  /** @param {string} text what the box holds now */
  showText(text, status = "") {
    this.els.input.value = text;
    this.els.status.textContent = status;
  }

  showStatus(status) {
    this.els.status.textContent = status;
  }

  /** The badge on the box: a system prompt is saved for this conversation. */
  showSet(set) {
    this.els.badge.hidden = !set;
    this.handlers.onShown?.();
  }

  get isSet() {
    return !this.els.badge.hidden;
  }

  enableSave(enabled) {
    this.els.save.disabled = !enabled;
  }
}
