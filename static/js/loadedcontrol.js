// Models in memory: asking what is loaded (GET /api/loaded, and the pushed `loaded`
// frame), unloading, and loading a picked model before the first message ("loading…"
// until /api/ps lists it).

import * as api from "./api.js";

export class LoadedControl {
  /**
   * @param {object} parts `loaded` (the model it changes), `installed`, `reply`,
   *   `conversation`, `reachability`, the `sidebar` view, and `act`: hostsChanged,
   *   showContext, keepAlive (the parameters' keep_alive)
   * @param {boolean} loadOnPick the server loads a picked model (no --no-preload)
   */
  constructor({ loaded, installed, reply, conversation, reachability, sidebar, act },
    loadOnPick) {
    Object.assign(this, { loaded, installed, reply, conversation, reachability, sidebar, act,
      loadOnPick });
  }

  /** @param {string[]} picked models loading on a pick (all of them unless told) */
  render(picked = undefined, hosts = this.installed.hosts) {
    this.sidebar.renderLoaded(this.loaded.list, this.loaded.pendingNames(picked), hosts, {
      replyingWith: this.reply.running?.model || "",
      isUnloading: (name, host) => this.loaded.isUnloading(name, host),
      unloadFailed: this.loaded.unloadFailed,
    });
  }

  /** Ask the server to load `name` now, so the first message does not wait for it; the
   * sidebar says "loading…" until /api/ps lists it. Not for a conversation that unloads
   * right after each reply (keep_alive 0). */
  async preload(name) {
    this.loaded.unloadRefused(null); // the next action: an old refusal has been read
    if (!this.loadOnPick || !name || this.act.keepAlive() === 0) return;
    const loaded = this.loaded;
    if (!loaded.known) {
      loaded.wantLater(name); // once the loaded list is known
      return;
    }
    if (loaded.isLoaded(name) || loaded.isPreloading(name)) return;
    loaded.preloading(name, true);
    this.render();
    try {
      await api.loadModel(name, this.conversation.current, this.installed.host);
      this.sidebar.showLoadedError("");
    } catch (err) {
      if (err.status !== 409) this.sidebar.showLoadedError(`Could not load ${name}: ${err.message}`);
      if (err.ollamaDown) this.reachability.setOllamaDown(err.message);
    }
    await this.refresh();
    loaded.preloading(name, false);
    this.render();
  }

  /** A new loaded list: draw it, and load what was picked before it was known. */
  #listed(models, hosts, pushed = false) {
    this.loaded.listed(models, pushed);
    this.act.hostsChanged(hosts);
    this.render();
    const wanted = this.loaded.takeWanted();
    if (wanted) this.preload(wanted);
  }

  /** The user asked for a fresh list (↻): a new action, so an old refusal goes. */
  refreshAsked() {
    this.loaded.unloadRefused(null);
    return this.refresh();
  }

  async refresh() {
    const seq = this.loaded.asking();
    let body = null;
    let error = null;
    try {
      body = await api.getLoaded();
    } catch (err) {
      error = err;
    }
    if (!this.loaded.isLatest(seq)) return; // a newer refresh or push arrived meanwhile
    if (body) {
      this.#listed(body.models, body.hosts);
      this.sidebar.showLoadedError("");
      if (this.reachability.ollamaDown) this.reachability.setOllamaDown("");
    } else if (error.ollamaDown) {
      this.reachability.setOllamaDown(error.message);
      this.sidebar.renderLoaded([], this.loaded.pendingNames([]), [], {
        replyingWith: this.reply.running?.model || "", isUnloading: () => false,
        unloadFailed: null });
    } else {
      this.sidebar.showLoadedError(`Could not refresh: ${error.message}`);
    }
    this.act.showContext();
  }

  /** The list a /models command answered with. */
  showList(models) {
    this.loaded.listed(models);
    this.render([]);
  }

  /** @param {string} host "" = wherever it is loaded */
  async unload(name, host = "") {
    this.loaded.unloadRefused(null);
    this.loaded.unloadingNow(name, host, true);
    this.render();
    try {
      await api.unloadModel(name, host);
      this.sidebar.showLoadedError("");
    } catch (err) {
      // Beside the card, until the next action: the refresh below must not wipe it.
      this.loaded.unloadRefused({ name, host, message: `Could not unload ${name}: ${err.message}` });
      if (err.ollamaDown) this.reachability.setOllamaDown(err.message);
    }
    await this.refresh();
    this.loaded.unloadingNow(name, host, false);
    this.render();
  }

  async unloadAll() {
    for (const model of [...this.loaded.list]) {
      await this.unload(model.name, this.installed.severalHosts ? model.host : "");
    }
  }

  /** Pushed frames about what is loaded. */
  frames = {
    loaded: (frame) => {
      if (frame.error) {
        this.reachability.setOllamaDown(frame.error);
        this.loaded.unknown(true);
        this.render([], []);
      } else {
        if (this.reachability.ollamaDown) this.reachability.setOllamaDown("");
        this.sidebar.showLoadedError("");
        this.#listed(frame.models, frame.hosts, true);
      }
      this.act.showContext();
    },
  };
}
