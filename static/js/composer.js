// The input box: Enter sends, Shift+Enter breaks the line; Send and Stop buttons.

export class Composer {
  /**
   * @param {{form: HTMLFormElement, input: HTMLTextAreaElement, send: HTMLButtonElement,
   *          stop: HTMLButtonElement}} els
   * @param {{onSend: (text: string) => boolean, onStop: () => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    els.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    els.stop.addEventListener("click", () => {
      els.stop.disabled = true;
      this.handlers.onStop();
    });
  }

  submit() {
    const text = this.els.input.value;
    if (!text.trim() || this.els.send.disabled || this.els.send.hidden) return;
    if (this.handlers.onSend(text)) {
      this.els.input.value = "";
    }
  }

  /** Give back text the server refused, unless something new was typed meanwhile. */
  restore(text) {
    if (!this.els.input.value.trim()) {
      this.els.input.value = text;
    }
  }

  /** @param {{connected: boolean, replying: boolean}} state */
  update({ connected, replying }) {
    this.els.send.hidden = replying;
    this.els.send.disabled = !connected;
    this.els.send.title = connected ? "" : "Not connected to the server";
    this.els.stop.hidden = !replying;
    if (!replying) this.els.stop.disabled = false;
  }

  focus() {
    this.els.input.focus();
  }
}
