// Wires the page together. All state lives in `state`; the views only draw.

import * as api from "./api.js";
import { ChatView } from "./chat.js";
import { Composer } from "./composer.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";

const LOADED_REFRESH_MS = 5000;
const REMOTE_POLL_MS = 2000;
const STORE = { model: "webchat.model", endpoint: "webchat.endpoint" };

function readStored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

function writeStored(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode or storage full: the choice just is not remembered
  }
}

const $ = (id) => document.getElementById(id);

const els = {
  banner: $("ollama-banner"),
  connection: $("connection-status"),
  messages: $("messages"),
  modelSelect: $("model-select"),
  endpointSelect: $("endpoint-select"),
  systemBox: $("system-box"),
  systemInput: $("system-prompt"),
  systemSave: $("system-save"),
  systemStatus: $("system-status"),
  systemBadge: $("system-badge"),
  refreshLoaded: $("refresh-loaded"),
};

const state = {
  connected: false,
  models: [], // installed, as /api/models lists them
  modelsError: "",
  loaded: [], // in memory, as /api/loaded lists them
  model: readStored(STORE.model),
  endpoint: readStored(STORE.endpoint) === "generate" ? "generate" : "chat",
  ollamaDown: "", // the banner's message; "" = reachable
  replying: false, // a reply this page started is streaming in
  remoteGenerating: false, // the server runs a reply this page does not stream
  pending: null, // {kind: "chat"|"retry", model, text?, id?} sent, not yet started
  replySeq: 0, // bumped at every start: an older history fetch must not draw over it
  loadedSeq: 0,
  systemDirty: false,
  everConnected: false,
  pollTimer: 0,
};

const view = new ChatView(els.messages, { onRetry: retry });
const sidebar = new Sidebar(
  { installed: $("installed-models"), loaded: $("loaded-models"),
    loadedError: $("loaded-error"), select: els.modelSelect },
  { onUnload: unload, onPick: pickModel });
const composer = new Composer(
  { form: $("composer"), input: $("prompt"), send: $("send"), stop: $("stop") },
  { onSend: sendChat, onStop: stop });
const socket = new ChatSocket({ onFrame, onOpen, onClose });

// -- controls -------------------------------------------------------------------

function updateControls() {
  composer.update({
    connected: state.connected,
    replying: state.replying || state.remoteGenerating,
  });
  els.systemSave.disabled = !state.connected;
  els.connection.dataset.state = state.connected ? "connected" : "reconnecting";
  els.connection.textContent = state.connected ? "Connected" : "Reconnecting…";
}

function setOllamaDown(message) {
  const wasDown = Boolean(state.ollamaDown);
  state.ollamaDown = message || "";
  els.banner.hidden = !message;
  els.banner.textContent = message ? `Ollama is unreachable: ${message}` : "";
  if (wasDown && !message && (!state.models.length || state.modelsError)) refreshModels();
}

// -- chat -----------------------------------------------------------------------

function chatFields() {
  return { model: state.model, endpoint: state.endpoint };
}

function sendChat(text) {
  const fields = chatFields();
  if (!socket.send({ type: "chat", text, ...fields })) return false;
  state.pending = { kind: "chat", text, model: fields.model };
  return true;
}

function retry(id) {
  const fields = chatFields();
  if (socket.send({ type: "retry", id, ...fields })) {
    state.pending = { kind: "retry", id, model: fields.model };
  }
}

function stop() {
  socket.send({ type: "stop" });
}

function saveSystem() {
  if (!socket.send({ type: "system", text: els.systemInput.value })) {
    els.systemStatus.textContent = "Not connected: not saved";
    return;
  }
  els.systemStatus.textContent = "Saving…";
}

function refusePending() {
  if (state.pending?.kind === "chat") composer.restore(state.pending.text);
  state.pending = null;
}

function replyEnded() {
  state.replying = false;
  updateControls();
  refreshHistory();
  refreshLoaded();
}

const frameHandlers = {
  start(frame) {
    const pending = state.pending;
    state.pending = null;
    if (pending?.kind === "retry") view.markRetrying(pending.id);
    else view.addUserMessage(frame.message_id, pending?.text ?? "");
    state.replySeq += 1;
    state.replying = true;
    state.remoteGenerating = false;
    view.startReply(pending?.model ?? state.model);
    updateControls();
  },
  chunk(frame) {
    view.appendChunk(frame.text);
  },
  thinking(frame) {
    view.appendThinking(frame.text);
  },
  done(frame) {
    view.endReply(frame.stats || {}, null);
    replyEnded();
  },
  error(frame) {
    const message = frame.message || "Something went wrong.";
    if (frame.code === "busy") {
      refusePending();
      view.addNote(message, "error");
      if (!state.replying) refreshHistory(); // another tab's reply: show it and its Stop
      return;
    }
    // A reply's own failure carries `partial`; a failed command (/models) does not.
    if (frame.code === "ollama" && state.replying && typeof frame.partial === "boolean") {
      view.endReply(null, message);
      view.addNote(message, "error", true);
      replyEnded();
      return;
    }
    refusePending();
    view.addNote(message, "error");
    if (frame.code === "no_session") {
      // Any /api request hands out the cookie; the socket then reconnects with it.
      api.getHistory().catch(() => {});
      return;
    }
    refreshHistory();
  },
  cleared() {
    state.pending = null;
    view.clear();
    refreshHistory();
  },
  system_set(frame) {
    state.systemDirty = false;
    els.systemInput.value = frame.text;
    els.systemBadge.hidden = !frame.text;
    els.systemStatus.textContent = frame.text ? "Saved ✓" : "Removed ✓";
  },
  info(frame) {
    state.pending = null;
    view.addNote(frame.text || "", "info");
    if (frame.command === "models" && Array.isArray(frame.models)) {
      state.loaded = frame.models;
      sidebar.renderLoaded(state.loaded);
    }
    if (frame.command === "exit" || frame.command === "unload") refreshLoaded();
  },
};

function onFrame(frame) {
  frameHandlers[frame.type]?.(frame);
}

function onOpen() {
  state.connected = true;
  updateControls();
  if (state.everConnected) {
    // What happened while we were away (a reply cut short, another tab's messages).
    refreshHistory();
    refreshLoaded();
  }
  state.everConnected = true;
}

function onClose() {
  const wasConnected = state.connected;
  state.connected = false;
  refusePending();
  if (state.replying) {
    view.endReply(null, "The connection to the server was lost", "interrupted");
    state.replying = false;
  }
  if (wasConnected) view.addNote("Lost the connection to the server; reconnecting…", "error");
  updateControls();
}

// -- server truth ---------------------------------------------------------------

async function refreshHistory() {
  const seq = state.replySeq;
  let history;
  try {
    history = await api.getHistory();
  } catch (err) {
    if (err.status !== 0) view.addNote(`Could not load the conversation: ${err.message}`, "error");
    return;
  }
  if (state.replying || seq !== state.replySeq) return; // a newer reply owns the pane
  view.render(history);
  if (!state.systemDirty) els.systemInput.value = history.system || "";
  els.systemBadge.hidden = !history.system;
  state.remoteGenerating = Boolean(history.generating);
  if (state.remoteGenerating && !state.pollTimer) {
    state.pollTimer = setTimeout(() => {
      state.pollTimer = 0;
      refreshHistory();
    }, REMOTE_POLL_MS);
  }
  updateControls();
}

async function refreshModels() {
  try {
    const body = await api.getModels();
    state.models = body.models || [];
    state.modelsError = "";
    if (state.ollamaDown) setOllamaDown("");
  } catch (err) {
    if (err.ollamaDown) setOllamaDown(err.message);
    if (!state.models.length) state.modelsError = err.message;
  }
  const names = state.models.map((m) => m.name);
  if (!names.includes(state.model) && names.length) state.model = names[0];
  sidebar.renderPicker(state.models, state.model, state.modelsError);
  sidebar.renderInstalled(state.models, state.model, state.modelsError);
}

async function refreshLoaded() {
  const seq = ++state.loadedSeq;
  let body = null;
  let error = null;
  try {
    body = await api.getLoaded();
  } catch (err) {
    error = err;
  }
  if (seq !== state.loadedSeq) return; // a newer refresh was asked for meanwhile
  if (body) {
    state.loaded = body.models || [];
    sidebar.renderLoaded(state.loaded);
    sidebar.showLoadedError("");
    if (state.ollamaDown) setOllamaDown("");
  } else if (error.ollamaDown) {
    setOllamaDown(error.message);
    sidebar.renderLoaded([]);
  } else {
    sidebar.showLoadedError(`Could not refresh: ${error.message}`);
  }
}

async function unload(name) {
  sidebar.setUnloading(name, true);
  try {
    await api.unloadModel(name);
    sidebar.showLoadedError("");
  } catch (err) {
    sidebar.showLoadedError(`Could not unload ${name}: ${err.message}`);
    if (err.ollamaDown) setOllamaDown(err.message);
  }
  await refreshLoaded();
  sidebar.setUnloading(name, false);
}

function pickModel(name) {
  state.model = name;
  writeStored(STORE.model, name);
  els.modelSelect.value = name;
  sidebar.markSelected(name);
}

// -- start ----------------------------------------------------------------------

els.modelSelect.addEventListener("change", () => pickModel(els.modelSelect.value));
els.endpointSelect.value = state.endpoint;
els.endpointSelect.addEventListener("change", () => {
  state.endpoint = els.endpointSelect.value === "generate" ? "generate" : "chat";
  writeStored(STORE.endpoint, state.endpoint);
});
els.systemInput.addEventListener("input", () => {
  state.systemDirty = true;
  els.systemStatus.textContent = "Not saved";
});
els.systemSave.addEventListener("click", saveSystem);
els.refreshLoaded.addEventListener("click", () => {
  refreshLoaded();
  if (!state.models.length) refreshModels();
});

let timerBusy = false;
setInterval(() => {
  if (timerBusy || document.hidden) return;
  timerBusy = true;
  refreshLoaded().finally(() => {
    timerBusy = false;
  });
}, LOADED_REFRESH_MS);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refreshLoaded();
});

updateControls();
refreshModels();
refreshLoaded();
refreshHistory().then(() => socket.connect());
composer.focus();
