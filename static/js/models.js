// The sidebar's models: installed (the picker), loaded in memory, downloads in progress,
// what each model can do (/api/show), and the context meter that depends on them.

import * as api from "./api.js";
import { closeSidebarOnPhone, setOllamaDown } from "./chrome.js";
import { closeModelDetails, confirmAction, showModelDetails } from "./dialogs.js";
import { composer, params, sidebar, socket, view } from "./parts.js";
import { saveSettings } from "./settings.js";
import {
  STORE, els, loadOnPick, pickerValue, readStored, severalHosts, state, writeStored,
} from "./store.js";

export function capable(name, capability) {
  return Boolean(state.info.get(name)?.capabilities?.includes(capability));
}

async function loadModelInfo(name) {
  if (!name) return null;
  if (!state.info.has(name)) {
    try {
      state.info.set(name, await api.showModel(name));
    } catch {
      return null;
    }
  }
  return state.info.get(name);
}

function renderCapabilities() {
  const thinking = capable(state.model, "thinking");
  els.thinkToggle.disabled = !thinking;
  els.thinkToggle.checked = thinking && state.think;
  els.thinkToggle.closest("label").title = thinking
    ? "Ask the model to show its reasoning (think: true)"
    : `${state.model || "This model"} does not think out loud`;
  const known = state.info.has(state.model);
  const vision = capable(state.model, "vision");
  composer.setVision(vision, !state.model ? "Choose a model to attach images."
    : !known ? `Checking whether ${state.model} can see images…`
      : `${state.model} cannot see images: attach works with vision models.`);
  renderContext();
}

export async function modelChanged() {
  renderCapabilities();
  const name = state.model;
  await loadModelInfo(name);
  if (name === state.model) renderCapabilities();
}

/** @param {string} value a model name, or `name@host` to pin the host ("… on gpu") */
export function pickModel(value) {
  closeSidebarOnPhone(); // picked from the drawer: back to the chat
  const [name, host = ""] = (value || "").split("@");
  if (!name || (name === state.model && host === state.host)) return;
  const same = name === state.model;
  state.model = name;
  state.host = host;
  writeStored(STORE.model, name);
  els.modelSelect.value = pickerValue();
  if (same) {
    preload(name);
    return;
  }
  sidebar.markSelected(name);
  saveSettings({ model: name });
  modelChanged();
  preload(name);
}

// -- loading a picked model before the first message ----------------------------------

function isLoaded(name) {
  return state.loaded.some((m) => m.name === name && !m.unloading);
}

function renderLoadedList() {
  sidebar.renderLoaded(state.loaded, [...state.preloading], state.hosts);
}

/** Several Ollama hosts: `hosts` came with /api/models, /api/loaded or a push. */
function hostsChanged(hosts) {
  if (!hosts) return;
  state.hosts = hosts;
  view.showHosts = severalHosts();
  els.pullHost.hidden = !severalHosts();
  const chosen = els.pullHost.value;
  els.pullHost.replaceChildren(...hosts.map((host) => {
    const option = document.createElement("option");
    option.value = host.label;
    option.textContent = host.up ? `to ${host.label}` : `to ${host.label} (down)`;
    return option;
  }));
  if (hosts.some((host) => host.label === chosen)) els.pullHost.value = chosen;
}

/** Ask the server to load `name` now, so the first message does not wait for it; the
 * sidebar says "loading…" until /api/ps lists it. Not for a conversation that unloads
 * right after each reply (keep_alive 0). */
export async function preload(name) {
  if (!loadOnPick || !name || params.read().keep_alive === 0) return;
  if (!state.loadedKnown) {
    state.preloadWanted = name; // once the loaded list is known
    return;
  }
  if (isLoaded(name) || state.preloading.has(name)) return;
  state.preloading.add(name);
  renderLoadedList();
  try {
    await api.loadModel(name, state.current, state.host);
    sidebar.showLoadedError("");
  } catch (err) {
    if (err.status !== 409) sidebar.showLoadedError(`Could not load ${name}: ${err.message}`);
    if (err.ollamaDown) setOllamaDown(err.message);
  }
  await refreshLoaded();
  state.preloading.delete(name);
  renderLoadedList();
}

/** A new loaded list: the models it shows are no longer "loading…". */
function loadedListChanged() {
  state.loadedKnown = true;
  for (const name of [...state.preloading]) {
    if (isLoaded(name)) state.preloading.delete(name);
  }
  renderLoadedList();
  if (state.preloadWanted) {
    const wanted = state.preloadWanted;
    state.preloadWanted = "";
    preload(wanted);
  }
}

export async function openModelDetails(name, host = "") {
  let info = await loadModelInfo(name);
  if (host) {
    try {
      info = await api.showModel(name, host);
    } catch {
      info = null;
    }
  }
  if (!info) {
    view.addNote(`Could not read the details of ${name}.`, "error");
    return;
  }
  showModelDetails(info, async (model) => {
    const where = host ? ` on ${host}` : "";
    const ok = await confirmAction(`Delete ${model} from disk${where}? It has to be `
      + "downloaded again to be used.", "Delete model");
    if (!ok) return;
    try {
      await api.deleteModel(model, host);
      closeModelDetails();
      state.info.delete(model);
      view.addNote(`Deleted ${model}${where}.`, "info");
      refreshModels();
    } catch (err) {
      closeModelDetails();
      view.addNote(`Could not delete ${model}: ${err.message}`, "error");
    }
  });
}

// -- the context meter -------------------------------------------------------------

function contextLength() {
  const numCtx = params.read().options.num_ctx;
  if (numCtx) return { size: numCtx, source: "num_ctx in the parameters" };
  const loaded = state.loaded.find((m) => m.name === state.model);
  const remembered = `webchat.context.${state.model}`;
  if (loaded?.context_length) {
    if (state.loadedContext.get(state.model) !== loaded.context_length) {
      state.loadedContext.set(state.model, loaded.context_length);
      writeStored(remembered, String(loaded.context_length)); // kept across reloads
    }
    return { size: loaded.context_length, source: "as loaded" };
  }
  // Unloaded since: the context it ran with, not a jump to the model's maximum.
  const before = state.loadedContext.get(state.model) || Number(readStored(remembered));
  if (before) return { size: before, source: "as it was loaded last" };
  const info = state.info.get(state.model);
  if (info?.context_length) return { size: info.context_length, source: "the model's maximum" };
  return null;
}

export function renderContext() {
  const used = state.lastStats?.prompt_eval_count;
  const ctx = contextLength();
  if (typeof used !== "number" || !ctx) {
    els.contextBox.hidden = true;
    return;
  }
  els.contextBox.hidden = false;
  const share = Math.min(1, used / ctx.size);
  els.contextMeter.value = share;
  const text = `${used.toLocaleString("en")} / ${ctx.size.toLocaleString("en")} tokens `
    + `(${Math.round(share * 100)}%)`;
  els.contextText.textContent = text;
  const sent = state.messages.filter((m) => m.in_context).length;
  const trim = state.settings.trim === "sliding" ? "sliding" : "in steps";
  els.contextMeter.title = `Prompt of the last reply against the context (${ctx.source}). `
    + `The next message is sent with ${sent} of ${state.messages.length} messages `
    + `(trim: ${trim}).`;
  els.contextBox.classList.toggle("context-full", share >= 0.85);
}

// -- installed and loaded models -----------------------------------------------------

export async function refreshModels() {
  try {
    const body = await api.getModels();
    state.models = body.models || [];
    hostsChanged(body.hosts || []);
    state.modelsError = "";
    if (state.ollamaDown) setOllamaDown("");
  } catch (err) {
    if (err.ollamaDown) setOllamaDown(err.message);
    if (!state.models.length) state.modelsError = err.message;
  }
  const names = state.models.map((m) => m.name);
  const wanted = state.settings.model;
  if (wanted && names.includes(wanted)) state.model = wanted;
  if (!names.includes(state.model) && names.length) state.model = names[0];
  if (state.host && !state.models.some((m) => m.name === state.model
      && m.host === state.host)) state.host = "";
  sidebar.renderPicker(state.models, pickerValue(), state.modelsError, severalHosts());
  sidebar.renderInstalled(state.models, state.model, state.modelsError, severalHosts());
  modelChanged();
}

export async function refreshLoaded() {
  const seq = ++state.loadedSeq;
  let body = null;
  let error = null;
  try {
    body = await api.getLoaded();
  } catch (err) {
    error = err;
  }
  if (seq !== state.loadedSeq) return; // a newer refresh or push arrived meanwhile
  if (body) {
    state.loaded = body.models || [];
    hostsChanged(body.hosts);
    loadedListChanged();
    sidebar.showLoadedError("");
    if (state.ollamaDown) setOllamaDown("");
  } else if (error.ollamaDown) {
    setOllamaDown(error.message);
    sidebar.renderLoaded([]);
  } else {
    sidebar.showLoadedError(`Could not refresh: ${error.message}`);
  }
  renderContext();
}

/** @param {string} host "" = wherever it is loaded */
export async function unload(name, host = "") {
  sidebar.setUnloading(name, true, host);
  try {
    await api.unloadModel(name, host);
    sidebar.showLoadedError("");
  } catch (err) {
    sidebar.showLoadedError(`Could not unload ${name}: ${err.message}`);
    if (err.ollamaDown) setOllamaDown(err.message);
  }
  await refreshLoaded();
  sidebar.setUnloading(name, false, host);
}

export async function unloadAll() {
  for (const model of [...state.loaded]) {
    await unload(model.name, severalHosts() ? model.host : "");
  }
}

// -- downloads --------------------------------------------------------------------------

/** A download's error by the Pull field: what happened in plain words, and Ollama's own
 * text (URLs, resolver addresses) folded under "Details". */
function showPullError(message, details = "") {
  els.pullError.replaceChildren(message || "");
  if (details && details !== message) {
    const box = document.createElement("details");
    box.className = "pull-details";
    const summary = document.createElement("summary");
    summary.textContent = "Details";
    const text = document.createElement("pre");
    text.textContent = details;
    box.append(summary, text);
    els.pullError.append(box);
  }
  els.pullError.hidden = !message;
}

/** Ollama's download errors, said so a person knows what to do. */
function pullTrouble(name, error) {
  const text = String(error || "");
  if (/dial tcp|lookup |no such host|connection refused|i\/o timeout|network is unreachable|TLS handshake/i
    .test(text)) {
    return `Could not download ${name}: Ollama cannot reach the model library. `
      + "Check that this computer is online.";
  }
  if (/file does not exist|manifest unknown|not found|pull model manifest/i.test(text)) {
    return `There is no model called “${name}” in the library. Check the name `
      + "(for example qwen3:0.6b or gemma3:270m).";
  }
  if (/disk|no space/i.test(text)) return `Could not download ${name}: the disk is full.`;
  return `Could not download ${name}.`;
}

/** An error frame answering a `pull` (a bad name, already downloading). */
export function pullRefused(frame) {
  showPullError((frame.message || "").replace(/^model: /, ""));
}

export function startPull(event) {
  event.preventDefault();
  const name = els.pullName.value.trim();
  if (!name) {
    showPullError("Type the name of a model, e.g. qwen3:0.6b");
    return;
  }
  const frame = { type: "pull", model: name };
  if (severalHosts() && els.pullHost.value) frame.host = els.pullHost.value;
  if (!socket.send(frame)) {
    showPullError("Not connected to the server.");
    return;
  }
  showPullError(""); // the name stays until the download succeeds
}

/** A download is of a model onto one host (several hosts) or the only one. */
function pullKey(frame) {
  return frame.host ? `${frame.host}|${frame.model}` : frame.model;
}

/** What this browser may do here (GET /api/me): on a shared server a guest may not
 * download or delete models, so those controls are disabled with the reason shown. */
export function loadRights() {
  api.getMe().then((me) => {
    const locked = !me.manage_models;
    const reason = locked ? me.reason || "Only the admin may manage models here." : "";
    els.pullName.disabled = locked;
    els.pullForm.querySelector("button[type=submit]").disabled = locked;
    if (els.pullHost) els.pullHost.disabled = locked;
    sidebar.modelsLocked = reason;
    sidebar.renderPulls(state.pulls);
    els.pullName.title = reason;
    const deleteButton = document.getElementById("model-delete");
    deleteButton.disabled = locked; // the dialog clones it per model: the state carries
    deleteButton.title = reason;
    for (const id of ["pull-locked", "model-delete-locked"]) {
      const note = document.getElementById(id);
      note.textContent = reason;
      note.hidden = !locked;
    }
  }, () => {});
}

/** Downloads already running when the page opens (another tab may have started them). */
export function loadPulls() {
  api.getPulls().then((body) => {
    for (const pull of body.pulls || []) state.pulls.set(pullKey(pull), pull);
    sidebar.renderPulls(state.pulls);
  }, () => {});
}

/** Pushed frames about models: what is loaded, and downloads. */
export const modelFrames = {
  loaded(frame) {
    if (frame.error) {
      setOllamaDown(frame.error);
      state.loaded = [];
    } else {
      if (state.ollamaDown) setOllamaDown("");
      state.loaded = frame.models || [];
      hostsChanged(frame.hosts);
      sidebar.showLoadedError("");
    }
    state.loadedSeq += 1; // a GET still in flight is older than this
    if (frame.error) sidebar.renderLoaded(state.loaded);
    else loadedListChanged();
    renderContext();
  },
  pull_progress(frame) {
    state.pulls.set(pullKey(frame), frame);
    sidebar.renderPulls(state.pulls);
  },
  pull_done(frame) {
    state.pulls.delete(pullKey(frame));
    sidebar.renderPulls(state.pulls);
    if (frame.ok) {
      showPullError("");
      if (els.pullName.value.trim() === frame.model) els.pullName.value = "";
      view.addNote(`Downloaded ${frame.model}.`, "info");
      refreshModels();
    } else if (!frame.cancelled) {
      showPullError(pullTrouble(frame.model, frame.error), frame.error);
    }
  },
};
