// The parameters panel: Ollama options, keep_alive and how the history is trimmed for
// this conversation. Values are
// checked by the server, which names the field; its message is shown next to that field.

/** Seconds in a keep_alive as the select holds it ("30m", "1h", "0", "-1"); null if odd. */
function seconds(value) {
  const text = String(value).trim();
  if (/^-?\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) return null;
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit], 0);
}

/** "30 min", "1 h", "45 s": a limit as a person reads it. */
function spoken(total) {
  if (total % 3600 === 0) return `${total / 3600} h`;
  if (total % 60 === 0) return `${total / 60} min`;
  return `${total} s`;
}

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
    // "1e" or "-" in a number field reads as "" (validity.badInput): said on the field as
    // it is typed, not saved as if the field were empty.
    els.form.addEventListener("input", (event) => {
      if (event.target.type === "number") this.flagBadInput();
    });
    els.form.addEventListener("submit", (event) => event.preventDefault());
    els.reset.addEventListener("click", () => {
      this.fill({});
      this.changed();
    });
  }

  /** A guest may keep a model loaded at most `max` (the server's --max-keep-alive, null
   * for the admin): longer choices, and "Keep loaded" (forever), are not offered, and
   * the field says why, rather than saving one the server quietly caps. */
  limitKeepAlive(max) {
    this.keepAliveMax = max;
    const select = this.field("keep_alive");
    const limit = max === null || max === undefined ? null : seconds(max);
    let note = select.parentElement.querySelector(".keep-alive-cap");
    for (const option of select.options) {
      const value = option.value === "" ? null : seconds(option.value);
      const over = limit !== null && value !== null && (value < 0 || value > limit);
      option.disabled = over;
      option.hidden = over;
    }
    if (limit === null) {
      if (note) note.hidden = true;
      return;
    }
    if (!note) {
      note = document.createElement("span");
      note.className = "hint keep-alive-cap";
      note.id = "keep-alive-cap";
      note.dataset.testid = "keep-alive-cap";
      select.after(note);
      select.setAttribute("aria-describedby", note.id);
    }
    note.textContent = `Capped at ${spoken(limit)} for guests.`;
    note.hidden = false;
  }

  field(name) {
    return this.els.form.elements.namedItem(name);
  }

  /** Mark each number field holding what is not a number; their names (none: []). */
  flagBadInput() {
    const bad = [];
    for (const name of NUMBERS) {
      const input = this.field(name);
      const span = input.parentElement.querySelector(".field-error");
      if (input.validity.badInput) {
        bad.push(name);
        span.textContent = "Not a number: use digits, e.g. 0.7 or 1e-3";
        span.dataset.bad = "yes";
        input.setAttribute("aria-invalid", "true");
      } else if (span.dataset.bad) {
        span.textContent = "";
        delete span.dataset.bad;
        input.removeAttribute("aria-invalid");
      }
    }
    return bad;
  }

  changed() {
    this.clearErrors();
    if (this.flagBadInput().length) {
      this.els.status.textContent = "Not saved";
      return;
    }
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
    if (this.keepAliveMax) this.limitKeepAlive(this.keepAliveMax); // a custom value too
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
      delete span.dataset.bad;
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
