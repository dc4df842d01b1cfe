// The parameters panel: Ollama options, keep_alive and how the history is trimmed for
// this conversation. Values are
// checked by the server, which names the field; its message is shown next to that field.

const NUMBERS = ["temperature", "top_p", "top_k", "num_ctx", "seed", "repeat_penalty",
  "num_predict"];

export class ParamsPanel {
  /**
   * @param {{form: HTMLFormElement, reset: HTMLButtonElement, status: HTMLElement,
   *          badge: HTMLElement}} els
   * @param {{onChange: (part: {options: object, keep_alive: any}) => void,
   *          onShown?: () => void, onError?: () => void}} handlers onShown: the values on
   *   screen changed; onError: a field is refused (the panel opens to show it)
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.form.addEventListener("change", () => this.changed());
    els.form.addEventListener("submit", (event) => event.preventDefault());
    els.reset.addEventListener("click", () => {
      this.fill({});
      this.changed();
    });
  }

  field(name) {
    return this.els.form.elements.namedItem(name);
  }

  changed() {
    this.clearErrors();
    this.els.status.textContent = "Saving…";
    this.handlers.onChange(this.read());
  }

  /** @param {{options?: object, keep_alive?: any, trim?: string}} settings */
  fill(settings) {
    const options = settings.options || {};
    for (const name of NUMBERS) {
      this.field(name).value = options[name] ?? "";
    }
    this.field("stop").value = (options.stop || []).join("\n");
    const keep = settings.keep_alive;
    const select = this.field("keep_alive");
    const value = keep === null || keep === undefined ? "" : String(keep);
    if (![...select.options].some((o) => o.value === value)) {
      const custom = document.createElement("option");
      custom.value = value;
      custom.textContent = value;
      select.append(custom);
    }
    select.value = value;
    this.field("trim").value = settings.trim === "sliding" ? "sliding" : "steps";
    this.clearErrors();
    this.els.status.textContent = "";
    this.markCustom(this.read());
  }

  read() {
    const options = {};
    for (const name of NUMBERS) {
      const raw = this.field(name).value.trim();
      if (raw !== "") options[name] = Number(raw);
    }
    const stop = this.field("stop").value.split("\n").filter((line) => line !== "");
    if (stop.length) options.stop = stop;
    const raw = this.field("keep_alive").value;
    let keepAlive = null;
    if (raw !== "") keepAlive = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    return { options, keep_alive: keepAlive, trim: this.field("trim").value };
  }

  markCustom(part) {
    this.els.badge.hidden = !Object.keys(part.options).length && part.keep_alive === null
      && part.trim !== "sliding";
    this.handlers.onShown?.();
  }

  /** How many of the fields differ from the defaults (the header's chip counts them). */
  changes() {
    const part = this.read();
    return Object.keys(part.options).length + (part.keep_alive === null ? 0 : 1)
      + (part.trim === "sliding" ? 1 : 0);
  }

  saved(part) {
    this.els.status.textContent = "Saved ✓";
    this.markCustom(part);
  }

  clearErrors() {
    for (const span of this.els.form.querySelectorAll(".field-error")) {
      span.textContent = "";
      span.previousElementSibling?.removeAttribute("aria-invalid");
    }
  }

  /** Show the server's message beside the field it names; false if no such field. */
  showError(field, message) {
    const span = this.els.form.querySelector(`.field-error[data-field="${CSS.escape(field)}"]`);
    this.els.status.textContent = "Not saved";
    if (!span) return false;
    // Beside the field its name is known: "options.temperature: must be…" -> "Must be…".
    const text = String(message).replace(/^[\w.]+: /, "");
    span.textContent = text.charAt(0).toUpperCase() + text.slice(1);
    span.previousElementSibling?.setAttribute("aria-invalid", "true");
    this.els.form.closest("details").open = true;
    this.handlers.onError?.();
    return true;
  }
}
