// The Pull form, drawn: the model name, the host to download to (several hosts), its
// error said in plain words with Ollama's own text folded under "Details", and the
// controls a guest may not use, disabled with the reason shown.

import { el } from "./dom.js";

export class PullForm {
  /**
   * @param {{form: HTMLFormElement, name: HTMLInputElement, host: HTMLSelectElement,
   *          error: HTMLElement, locked: HTMLElement, deleteButton: HTMLButtonElement,
   *          deleteLocked: HTMLElement}} els
   * @param {{onPull: (name: string, host: string) => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      handlers.onPull(els.name.value.trim(), els.host.hidden ? "" : els.host.value);
    });
  }

  showError(message, details = "") {
    const box = this.els.error;
    box.replaceChildren(message || "");
    if (details && details !== message) {
      const more = el("details", "pull-details");
      more.append(el("summary", null, "Details"), el("pre", null, details));
      box.append(more);
    }
    box.hidden = !message;
  }

  /** A download of `model` succeeded: its name leaves the field. */
  downloaded(model) {
    if (this.els.name.value.trim() === model) this.els.name.value = "";
  }

  /** @param {object[]} hosts several Ollama hosts: pick one to download to */
  showHosts(hosts, several) {
    const select = this.els.host;
    select.hidden = !several;
    const chosen = select.value;
    select.replaceChildren(...hosts.map((host) => {
      const option = el("option", null, host.up ? `to ${host.label}` : `to ${host.label} (down)`);
      option.value = host.label;
      return option;
    }));
    if (hosts.some((host) => host.label === chosen)) select.value = chosen;
  }

  /** @param {string} reason why this browser may not manage models ("" = it may) */
  lock(reason) {
    const locked = Boolean(reason);
    const { name, form, host, deleteButton } = this.els;
    name.disabled = locked;
    form.querySelector("button[type=submit]").disabled = locked;
    host.disabled = locked;
    name.title = reason;
    deleteButton.disabled = locked; // the dialog clones it per model: the state carries
    deleteButton.title = reason;
    for (const note of [this.els.locked, this.els.deleteLocked]) {
      note.textContent = reason;
      note.hidden = !locked;
    }
  }
}
