// The sidebar's installed models: the list and the picker, which model (and host) is
// picked, what each model can do (/api/show) and its details dialog, and the Ollama
// hosts they come from. Loaded models are loaded.js's, downloads pulls.js's, the
// context meter contextmeter.js's.

import * as api from "./api.js";
import { closeSidebarOnPhone, setOllamaDown } from "./chrome.js";
import { renderContext } from "./contextmeter.js";
import { closeModelDetails, confirmAction, showModelDetails } from "./dialogs.js";
import { preload } from "./loaded.js";
import { composer, sidebar, view } from "./parts.js";
import { saveSettings } from "./settings.js";
import { STORE, els, pickerValue, severalHosts, state, writeStored } from "./store.js";

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
  // A model that takes levels (gpt-oss) cannot be turned off: it gets a level instead,
  // the one the server sends (webchat/ollama/modelinfo.py think_to_send).
  const levels = state.info.get(state.model)?.think_levels || [];
  els.thinkField.hidden = levels.length > 0;
  els.thinkLevelField.hidden = !levels.length;
  if (levels.length) {
    els.thinkLevel.value = levels.includes(state.think) ? state.think
      : state.think ? "medium" : levels[0];
  }
  els.thinkToggle.disabled = !thinking;
  els.thinkToggle.checked = thinking && Boolean(state.think);
  els.thinkField.title = thinking
    ? "Show the model's reasoning (think: true); off sends think: false, or it thinks anyway"
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

/** Several Ollama hosts: `hosts` came with /api/models, /api/loaded or a push. */
export function hostsChanged(hosts) {
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

/** The installed list from the server; the picked model stays if it is still there. */
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
