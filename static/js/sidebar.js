// The sidebar's model lists, drawn: models installed, models loaded in memory (with
// Unload), downloads in progress, and the model picker that the installed list fills.
// It draws what it is given; clicks become named callbacks.

import { formatBytes, formatExpiry, formatMegabytes, formatProgress } from "./format.js";
import { el } from "./dom.js";


/** A model's name as a card shows it: cut with an ellipsis when long, so the whole name
 * is its title (hover) and shows in full while the card has focus (sidebar.css). */
function fullName(name) {
  const span = el("span", "model-name", name);
  span.title = name;
  return span;
}

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
   * @param {{onUnload: (name: string, host: string) => void, onPick: (name: string) => void,
   *          onDetails: (name: string, host: string) => void,
   *          onCancelPull: (name: string, host: string) => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
  }

  // -- installed ----------------------------------------------------------------

  /** @param {boolean} hosts several Ollama hosts: each entry names its host, and
   *  picking one pins that host */
  renderInstalled(models, selected, error, hosts = false) {
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
      const on = hosts && m.host ? m.host : "";
      if (on) item.dataset.host = on;
      if (m.name === selected) item.classList.add("selected");
      const pick = el("button", "model-pick");
      pick.type = "button";
      pick.title = (on ? `Use ${m.name} on ${on}` : `Use ${m.name}`) // read out: what it shows
        + (m.cloud ? " (runs on ollama.com: the conversation leaves this machine)" : "");
      pick.append(fullName(m.name));
      const details = m.details || {};
      const facts = [m.cloud ? "cloud: runs on ollama.com" : "", on && `on ${on}`,
        m.cloud ? "" : formatBytes(m.size), details.parameter_size,
        details.quantization_level].filter(Boolean).join(" · ");
      pick.append(el("span", "model-facts", facts));
      pick.addEventListener("click", () => this.handlers.onPick(on ? `${m.name}@${on}` : m.name));
      const info = el("button", "icon-button model-details-button");
      info.append(el("span", "info-glyph", "i"));
      info.type = "button";
      info.setAttribute("aria-label", `Details of ${m.name}`);
      info.title = "Details";
      info.addEventListener("click", () => this.handlers.onDetails(m.name, on));
      item.append(pick, info);
      return item;
    }));
  }

  /** @param {string} selected the picker's value: `name`, or `name@host` when pinned
   *  @param {boolean} hosts several hosts: each model also as "name on host" */
  renderPicker(models, selected, error, hosts = false) {
    const select = this.els.select;
    if (!models.length) {
      const option = el("option", null, error ? "Ollama unreachable" : "No models installed");
      option.value = "";
      select.replaceChildren(option);
      select.disabled = true;
      return;
    }
    const option = (value, text) => {
      const item = el("option", null, text);
      item.value = value;
      return item;
    };
    const names = [...new Set(models.map((m) => m.name))];
    // A cloud model sends the whole conversation to ollama.com: the picker says so.
    const cloud = new Set(models.filter((m) => m.cloud).map((m) => m.name));
    const named = (name) => (cloud.has(name) ? `${name} (cloud: ollama.com)` : name);
    if (!hosts) {
      select.replaceChildren(...names.map((name) => option(name, named(name))));
    } else {
      // A model on one host only goes there anyway: offered once, saying where; one on
      // several hosts is offered on any host, and pinned to each.
      const hostsOf = (name) => {
        const row = models.find((m) => m.name === name);
        return row?.on_hosts || [...new Set(models.filter((m) => m.name === name)
          .map((m) => m.host))];
      };
      const several = (name) => hostsOf(name).length > 1;
      const any = el("optgroup");
      any.label = "Any host";
      any.append(...names.map((name) => option(name, several(name) ? named(name)
        : `${named(name)} (only on ${hostsOf(name)[0]})`)));
      const pinned = el("optgroup");
      pinned.label = "On one host";
      pinned.append(...models.filter((m) => m.host && several(m.name))
        .map((m) => option(`${m.name}@${m.host}`, `${named(m.name)} on ${m.host}`)));
      select.replaceChildren(...(pinned.children.length ? [any, pinned] : [any]));
    }
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
   *  @param {string[]} pending models loading (picked, or for a reply), not listed yet
   *  @param {object[]} hosts several hosts ({label, up, error}): grouped by host
   *  @param {{replyingWith: string, isUnloading: (name: string, host: string) => boolean,
   *    unloadFailed: ?{name: string, host: string, message: string}}}
   *    marks `replyingWith`: the model of this browser's reply; `isUnloading`: an
   *    Unload clicked here and not answered yet; `unloadFailed`: why the last one was
   *    refused, drawn beside its card (or last, when the card is gone) */
  renderLoaded(models, pending, hosts, marks) {
    const list = this.els.loaded;
    this.els.unloadAll.hidden = models.length < 1;
    const grouped = hosts.length > 1;
    const failed = marks.unloadFailed;
    let placed = !failed;
    const item = (m) => {
      const card = this.loadedItem(m, grouped, marks);
      if (placed || m.name !== failed.name || (failed.host && failed.host !== m.host)) {
        return [card];
      }
      placed = true;
      card.setAttribute("aria-describedby", "unload-refused");
      return [card, refusalItem(failed.message)];
    };
    let items;
    if (grouped) {
      items = [...hosts.flatMap((host) => this.hostGroup(host,
        models.filter((m) => m.host === host.label), item)), ...pending.map((name) =>
        this.loadingItem(name))];
    } else if (!models.length && !pending.length) {
      items = [emptyItem("No models loaded",
        "A model is loaded when you pick it or send it a message.")];
    } else {
      items = [...models.flatMap(item), ...pending.map((name) => this.loadingItem(name))];
    }
    if (!placed) items.push(refusalItem(failed.message));
    list.replaceChildren(...items);
  }

  /** One host's heading (up, or down and why) and the models it holds. */
  hostGroup(host, models, item) {
    const head = el("li", "host-group");
    head.dataset.host = host.label;
    head.dataset.up = host.up ? "yes" : "no";
    head.append(el("span", "host-name", host.label));
    const state = host.up ? (models.length ? "" : "nothing loaded") : "down";
    if (state) head.append(el("span", host.up ? "host-state" : "host-state host-down", state));
    head.title = host.up ? host.url || host.label : `${host.url || host.label}: ${host.error}`;
    return [head, ...models.flatMap(item)];
  }

  loadedItem(m, grouped, { replyingWith, isUnloading }) {
    const item = el("li", "model-item loaded-item");
    item.dataset.model = m.name;
    if (m.host) item.dataset.host = m.host;
    const info = el("div", "model-info");
    info.append(fullName(m.name));
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
      expiry.textContent = m.name === replyingWith ? "unloading after the current reply"
        : "unloading…";
    }
    info.append(expiry);
    item.append(info);

    const button = el("button", "button small unload-button", "Unload");
    button.type = "button";
    button.dataset.model = m.name;
    button.dataset.host = m.host || "";
    button.dataset.testid = "unload-button";
    const where = grouped ? ` on ${m.host}` : "";
    button.setAttribute("aria-label", `Unload ${m.name}${where} from memory`);
    if (isUnloading(m.name, m.host || "") || m.unloading) {
      button.disabled = true;
      button.textContent = "Unloading…";
    }
    button.addEventListener("click", () => this.handlers.onUnload(m.name,
      grouped ? m.host : ""));
    item.append(button);
    return item;
  }

  /** A model loading because it was picked; Unload cuts the load (and wins). */
  loadingItem(name) {
    const item = el("li", "model-item loaded-item loading-item");
    item.dataset.model = name;
    item.dataset.loading = "yes";
    const info = el("div", "model-info");
    info.append(fullName(name));
    info.append(el("span", "model-facts loading-text", "loading…"));
    const button = el("button", "button small unload-button", "Unload");
    button.type = "button";
    button.dataset.model = name;
    button.setAttribute("aria-label", `Stop loading ${name} and unload it`);
    button.addEventListener("click", () => this.handlers.onUnload(name, ""));
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

  /** @param {Map<string, object>} pulls model -> last pull_progress frame
   *  @param {string} locked why this browser may not cancel a download ("" = it may) */
  renderPulls(pulls, locked) {
    this.els.pulls.replaceChildren(...[...pulls.values()].map((p) => {
      const item = el("li", "pull-item");
      item.dataset.model = p.model;
      const head = el("div", "pull-head");
      head.append(el("span", "model-name", p.host ? `${p.model} → ${p.host}` : p.model));
      const cancel = el("button", "button small secondary pull-cancel", "Cancel");
      cancel.type = "button";
      cancel.setAttribute("aria-label", `Cancel downloading ${p.model}`);
      cancel.addEventListener("click", () => this.handlers.onCancelPull(p.model, p.host));
      if (locked) { // a guest: only the admin may cancel a download
        cancel.disabled = true;
        cancel.title = locked;
      }
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

  showLoadedError(message) {
    this.els.loadedError.textContent = message || "";
    this.els.loadedError.hidden = !message;
  }
}

/** Why an Unload was refused, as a row of the list right under the model's card. */
function refusalItem(message) {
  const item = el("li", "panel-error unload-refused", message);
  item.id = "unload-refused";
  item.setAttribute("role", "alert");
  item.dataset.testid = "unload-refused";
  return item;
}

function expiryText(m) {
  const expiry = formatExpiry(m);
  if (expiry === "expiring now") return expiry;
  return expiry === "never" ? "expires never" : `expires ${expiry}`;
}
