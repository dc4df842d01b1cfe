// The installed models: the list and the picker, picking a model (and host), what the
// picked model can do (/api/show: the think toggle, attaching images) and its details
// dialog, with Delete.

import * as api from "./api.js";
import { closeModelDetails, confirmAction, showModelDetails } from "./dialogs.js";

export class ModelControl {
  /**
   * @param {object} parts `installed` (the model it changes), `settings`, `reachability`,
   *   the views `sidebar`, `toolbar`, `composer`, `pullForm`, `view` (notes), `chrome`,
   *   and `act`: saveSettings, preload, showContext
   */
  constructor({ installed, settings, reachability, sidebar, toolbar, composer, pullForm, view,
    chrome, act }) {
    Object.assign(this, { installed, settings, reachability, sidebar, toolbar, composer,
      pullForm, view, chrome, act });
  }

  async #info(name) {
    if (!name) return null;
    if (!this.installed.knows(name)) {
      try {
        this.installed.remember(name, await api.showModel(name));
      } catch {
        return null;
      }
    }
    return this.installed.infoOf(name);
  }

  #showCapabilities() {
    const { installed, settings } = this;
    const model = installed.model;
    this.toolbar.showThink(installed.capable(model, "thinking"), settings.think, model,
      installed.infoOf(model)?.think_levels || []);
    const vision = installed.capable(model, "vision");
    this.composer.setVision(vision, !model ? "Choose a model to attach images."
      : !installed.knows(model) ? `Checking whether ${model} can see images…`
        : `${model} cannot see images: attach works with vision models.`);
    this.act.showContext();
  }

  /** The model in use changed (a pick, a conversation's settings): what it can do. */
  async changed() {
    this.#showCapabilities();
    const name = this.installed.model;
    await this.#info(name);
    if (name === this.installed.model) this.#showCapabilities();
  }

  /** A conversation's saved model, shown picked (when installed). */
  useSaved(wanted) {
    this.installed.useSaved(wanted);
    const model = this.installed.model;
    if (model && this.installed.names.includes(model)) {
      this.toolbar.showPicked(this.installed.pickerValue);
    }
    this.sidebar.markSelected(model);
    this.changed();
  }

  /** @param {string} value a model name, or `name@host` to pin the host ("… on gpu") */
  pick(value) {
    this.chrome.closeSidebarOnPhone(); // picked from the drawer: back to the chat
    const [name, host = ""] = (value || "").split("@");
    const what = this.installed.pick(name, host);
    if (!what) return;
    this.toolbar.showPicked(this.installed.pickerValue);
    if (what === "changed") {
      this.sidebar.markSelected(name);
      this.act.saveSettings({ model: name });
      this.changed();
    }
    this.act.preload(name);
  }

  /** Several Ollama hosts: `hosts` came with /api/models, /api/loaded or a push. */
  hostsChanged(hosts) {
    if (!hosts) return;
    this.installed.setHosts(hosts);
    this.pullForm.showHosts(hosts, this.installed.severalHosts);
  }

  /** The installed list from the server; the picked model stays if it is still there. */
  async refresh() {
    const { installed, reachability } = this;
    try {
      const body = await api.getModels();
      installed.listed(body.models, this.settings.saved.model);
      this.hostsChanged(body.hosts || []);
      if (reachability.ollamaDown) reachability.setOllamaDown("");
    } catch (err) {
      if (err.ollamaDown) reachability.setOllamaDown(err.message);
      installed.failed(err.message, this.settings.saved.model);
    }
    const several = installed.severalHosts;
    this.sidebar.renderPicker(installed.list, installed.pickerValue, installed.error, several);
    this.sidebar.renderInstalled(installed.list, installed.model, installed.error, several);
    this.changed();
  }

  /** Ollama answers again: a list that was missing is fetched. */
  ollamaBack() {
    if (!this.installed.list.length || this.installed.error) this.refresh();
  }

  async openDetails(name, host = "") {
    let info = await this.#info(name);
    if (host) {
      try {
        info = await api.showModel(name, host);
      } catch {
        info = null;
      }
    }
    if (!info) {
      this.view.addNote(`Could not read the details of ${name}.`, "error");
      return;
    }
    showModelDetails(info, (model) => this.#delete(model, host));
  }

  async #delete(model, host) {
    const where = host ? ` on ${host}` : "";
    const ok = await confirmAction(`Delete ${model} from disk${where}? It has to be `
      + "downloaded again to be used.", "Delete model");
    if (!ok) return;
    try {
      await api.deleteModel(model, host);
      closeModelDetails();
      this.installed.forget(model);
      this.view.addNote(`Deleted ${model}${where}.`, "info");
      this.refresh();
    } catch (err) {
      closeModelDetails();
      this.view.addNote(`Could not delete ${model}: ${err.message}`, "error");
    }
  }
}
