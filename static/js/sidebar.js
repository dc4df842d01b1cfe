// The sidebar: models installed, models loaded in memory (with Unload), and the
// model picker that the installed list fills.

import { formatBytes, formatExpiry, formatMegabytes, formatProgress } from "./format.js";
import { el } from "./dom.js";


function emptyItem(title, detail) {
  const item = el("li", "empty-state");
  item.append(el("span", "empty-title", title));
  if (detail) item.append(el("span", "empty-detail", detail));
  return item;
}

export class Sidebar {
  /**
   * @param {{installed: HTMLElement, loaded: HTMLElement, loadedError: HTMLElement,
   *          select: HTMLSelectElement}} els
   * @param {{onUnload: (name: string) => void, onPick: (name: string) => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    this.unloading = new Set();
    this.models = []; // the loaded list last drawn
    this.picked = []; // models loading because they were picked (POST /api/load)
    this.loading = ""; // a model a reply is waiting for, not yet in the list
    this.replyingWith = ""; // the model of this browser's running reply
  }

  /** A reply started (or ended: ""): until the model is listed, say it is loading. */
  setReply(model, loading) {
    this.replyingWith = model || "";
    this.loading = loading ? model : "";
    this.renderLoaded(this.models, this.picked);
  }

  // -- installed ----------------------------------------------------------------

  renderInstalled(models, selected, error) {
    const list = this.els.installed;
    if (error) {
      list.replaceChildren(emptyItem("Model list unavailable", error));
      return;
    }
    if (!models.length) {
      list.replaceChildren(emptyItem("No models installed",
        "Pull one in a terminal, e.g. ollama pull gemma3:270m"));
      return;
    }
    list.replaceChildren(...models.map((m) => {
      const item = el("li", "model-item installed-item");
      item.dataset.model = m.name;
      if (m.name === selected) item.classList.add("selected");
      const pick = el("button", "model-pick");
      pick.type = "button";
      pick.title = `Use ${m.name}`; // the name read out is what the button shows
      pick.append(el("span", "model-name", m.name));
      const details = m.details || {};
      const facts = [formatBytes(m.size), details.parameter_size, details.quantization_level]
        .filter(Boolean).join(" · ");
      pick.append(el("span", "model-facts", facts));
      pick.addEventListener("click", () => this.handlers.onPick(m.name));
      const info = el("button", "icon-button model-details-button");
      info.append(el("span", "info-glyph", "i"));
      info.type = "button";
      info.setAttribute("aria-label", `Details of ${m.name}`);
      info.title = "Details";
      info.addEventListener("click", () => this.handlers.onDetails(m.name));
      item.append(pick, info);
      return item;
    }));
  }

  renderPicker(models, selected, error) {
    const select = this.els.select;
    if (!models.length) {
      const option = el("option", null, error ? "Ollama unreachable" : "No models installed");
      option.value = "";
      select.replaceChildren(option);
      select.disabled = true;
      return;
    }
    select.replaceChildren(...models.map((m) => {
      const option = el("option", null, m.name);
      option.value = m.name;
      return option;
    }));
    select.disabled = false;
    select.value = selected;
  }

  markSelected(name) {
    for (const item of this.els.installed.querySelectorAll(".installed-item")) {
      item.classList.toggle("selected", item.dataset.model === name);
    }
  }

  // -- loaded -------------------------------------------------------------------

  /** @param {object[]} models as /api/loaded lists them
   *  @param {string[]} loading models being loaded on a pick, not listed yet */
  renderLoaded(models, loading = []) {
    const list = this.els.loaded;
    this.models = models;
    if (models.some((m) => m.name === this.loading)) this.loading = "";
    this.els.unloadAll.hidden = models.length < 1;
    this.picked = loading;
    const waiting = this.loading ? [...loading, this.loading] : loading;
    const pending = [...new Set(waiting)].filter((name) => !models.some((m) => m.name === name));
    if (!models.length && !pending.length) {
      list.replaceChildren(emptyItem("No models loaded",
        "A model is loaded when you pick it or send it a message."));
      return;
    }
    list.replaceChildren(...models.map((m) => this.loadedItem(m)),
      ...pending.map((name) => this.loadingItem(name)));
  }

  loadedItem(m) {
    const item = el("li", "model-item loaded-item");
    item.dataset.model = m.name;
    const info = el("div", "model-info");
    info.append(el("span", "model-name", m.name));
    const facts = el("span", "model-facts");
    facts.append(el("span", "loaded-size", formatMegabytes(m.size_mb)));
    facts.append(el("span", "loaded-processor", m.processor));
    info.append(facts);
    const expiry = el("span", "model-expiry");
    expiry.dataset.expiresAt = m.expires_at || "";
    expiry.dataset.never = m.expires_never ? "yes" : "";
    expiry.textContent = expiryText(m);
    if (m.unloading) {
      // Ollama unloads it when the reply using it ends (a deferred unload).
      expiry.dataset.unloading = "yes";
      expiry.textContent = m.name === this.replyingWith ? "unloading after the current reply"
        : "unloading…";
    }
    info.append(expiry);
    item.append(info);

    const button = el("button", "button small unload-button", "Unload");
    button.type = "button";
    button.dataset.model = m.name;
    button.dataset.testid = "unload-button";
    button.setAttribute("aria-label", `Unload ${m.name} from memory`);
    if (this.unloading.has(m.name) || m.unloading) {
      button.disabled = true;
      button.textContent = "Unloading…";
    }
    button.addEventListener("click", () => this.handlers.onUnload(m.name));
    item.append(button);
    return item;
  }

  /** A model loading because it was picked; Unload cuts the load (and wins). */
  loadingItem(name) {
    const item = el("li", "model-item loaded-item loading-item");
    item.dataset.model = name;
    item.dataset.loading = "yes";
    const info = el("div", "model-info");
    info.append(el("span", "model-name", name));
    info.append(el("span", "model-facts loading-text", "loading…"));
    const button = el("button", "button small unload-button", "Unload");
    button.type = "button";
    button.dataset.model = name;
    button.setAttribute("aria-label", `Stop loading ${name} and unload it`);
    button.addEventListener("click", () => this.handlers.onUnload(name));
    item.append(info, button);
    return item;
  }

  /** Once a second: the countdowns move without asking the server. */
  tick() {
    for (const span of this.els.loaded.querySelectorAll(".model-expiry:not([data-unloading])")) {
      span.textContent = expiryText({ expires_at: span.dataset.expiresAt || null,
        expires_never: span.dataset.never === "yes" });
    }
  }

  // -- downloads ----------------------------------------------------------------

  /** @param {Map<string, object>} pulls model -> last pull_progress frame */
  renderPulls(pulls) {
    this.els.pulls.replaceChildren(...[...pulls.values()].map((p) => {
      const item = el("li", "pull-item");
      item.dataset.model = p.model;
      const head = el("div", "pull-head");
      head.append(el("span", "model-name", p.model));
      const cancel = el("button", "button small secondary pull-cancel", "Cancel");
      cancel.type = "button";
      cancel.setAttribute("aria-label", `Cancel downloading ${p.model}`);
      cancel.addEventListener("click", () => this.handlers.onCancelPull(p.model));
      head.append(cancel);
      const bar = el("progress", "pull-bar");
      bar.max = p.total || 1;
      bar.value = p.completed || 0;
      bar.setAttribute("aria-label", `Download of ${p.model}`);
      const status = el("span", "model-facts pull-status",
        [p.status, formatProgress(p.completed, p.total)].filter(Boolean).join(" · "));
      item.append(head, bar, status);
      return item;
    }));
  }

  setUnloading(name, busy) {
    if (busy) this.unloading.add(name);
    else this.unloading.delete(name);
    const unloading = busy || this.models.some((m) => m.name === name && m.unloading);
    for (const button of this.els.loaded.querySelectorAll(".unload-button")) {
      if (button.dataset.model !== name) continue;
      button.disabled = unloading;
      button.textContent = unloading ? "Unloading…" : "Unload";
    }
  }

  showLoadedError(message) {
    this.els.loadedError.textContent = message || "";
    this.els.loadedError.hidden = !message;
  }
}

function expiryText(m) {
  const expiry = formatExpiry(m);
  if (expiry === "expiring now") return expiry;
  return expiry === "never" ? "expires never" : `expires ${expiry}`;
}
