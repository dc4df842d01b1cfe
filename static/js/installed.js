// The installed models (/api/models), the Ollama hosts they come from, which model (and
// host) the current conversation uses, and what each model can do (/api/show, cached).

import { KEYS } from "./store.js";

export class Installed {
  #list = [];
  #error = "";
  #hosts = []; // several Ollama hosts: [{label, url, up, error}] in order of preference
  #model; // the current conversation's model
  #host = ""; // the host the picker pins ("" = wherever the server routes it)
  #info = new Map(); // model name -> /api/show facts (capabilities, context length)

  /** @param {import("./store.js").Store} store */
  constructor(store) {
    this.store = store;
    this.#model = store.read(KEYS.model);
  }

  get list() {
    return this.#list;
  }

  get error() {
    return this.#error;
  }

  get hosts() {
    return this.#hosts;
  }

  get model() {
    return this.#model;
  }

  get host() {
    return this.#host;
  }

  get names() {
    return this.#list.map((m) => m.name);
  }

  /** More than one Ollama host: the page names hosts, groups loaded models by host. */
  get severalHosts() {
    return this.#hosts.length > 1;
  }

  /** The picker's value for the current model: `name`, or `name@host` when pinned. */
  get pickerValue() {
    return this.#host ? `${this.#model}@${this.#host}` : this.#model;
  }

  /** A new list; the conversation's saved model (`wanted`) if it is there, else the
   * picked one if it still is, else the first. */
  listed(list, wanted) {
    this.#list = list || [];
    this.#error = "";
    this.#settle(wanted);
  }

  /** The list could not be fetched: the one shown stays (or says why it is empty). */
  failed(message, wanted) {
    if (!this.#list.length) this.#error = message;
    this.#settle(wanted);
  }

  #settle(wanted) {
    const names = this.names;
    if (wanted && names.includes(wanted)) this.#model = wanted;
    if (!names.includes(this.#model) && names.length) this.#model = names[0];
    if (this.#host && !this.#list.some((m) => m.name === this.#model
        && m.host === this.#host)) this.#host = "";
  }

  /** @param {object[]|undefined} hosts came with /api/models, /api/loaded or a push */
  setHosts(hosts) {
    if (hosts) this.#hosts = hosts;
  }

  /** The user picked `name` (on `host`): "same" when only the host changed, "" when
   * nothing did. */
  pick(name, host) {
    if (!name || (name === this.#model && host === this.#host)) return "";
    const same = name === this.#model;
    this.#model = name;
    this.#host = host;
    this.store.write(KEYS.model, name);
    return same ? "same" : "changed";
  }

  /** A conversation's saved model, used when installed (or while nothing is listed). */
  useSaved(wanted) {
    const names = this.names;
    if (wanted && (names.includes(wanted) || !names.length)) this.#model = wanted;
  }

  infoOf(name) {
    return this.#info.get(name);
  }

  knows(name) {
    return this.#info.has(name);
  }

  remember(name, info) {
    this.#info.set(name, info);
  }

  forget(name) {
    this.#info.delete(name);
  }

  capable(name, capability) {
    return Boolean(this.#info.get(name)?.capabilities?.includes(capability));
  }
}
