// The sidebar's loaded models: what Ollama holds in memory (GET /api/loaded and the
// pushed `loaded` frame), unloading, and loading a picked model before the first
// message ("loading…" until /api/ps lists it).

import * as api from "./api.js";
import { setOllamaDown } from "./chrome.js";
import { renderContext } from "./contextmeter.js";
import { hostsChanged } from "./models.js";
import { params, sidebar } from "./parts.js";
import { loadOnPick, severalHosts, state } from "./store.js";

function isLoaded(name) {
  return state.loaded.some((m) => m.name === name && !m.unloading);
}

function renderLoadedList() {
  sidebar.renderLoaded(state.loaded, [...state.preloading], state.hosts);
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

/** Pushed frames about what is loaded. */
export const loadedFrames = {
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
};
