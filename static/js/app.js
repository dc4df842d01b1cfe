// Wires the page together. All state lives in `state`; the views only draw.
//
// Frames of a reply carry the id of the conversation they belong to, so a reply keeps
// streaming (into `state.running`) while another conversation is on screen, and is
// shown live again on coming back to it.

import * as api from "./api.js";
import { ChatView } from "./chat.js";
import { Composer } from "./composer.js";
import { ConversationList } from "./conversations.js";
import {
  closeModelDetails, confirmAction, initTheme, showHelp, showInspector, showModelDetails, toast,
} from "./dialogs.js";
import { ParamsPanel } from "./params.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";

const REMOTE_POLL_MS = 2000;
const NARROW = window.matchMedia("(max-width: 760px)");
const STORE = { model: "webchat.model", conversation: "webchat.conversation" };

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
  title: $("chat-title"),
  modelSelect: $("model-select"),
  endpointSelect: $("endpoint-select"),
  systemInput: $("system-prompt"),
  systemSave: $("system-save"),
  systemStatus: $("system-status"),
  systemBadge: $("system-badge"),
  refreshLoaded: $("refresh-loaded"),
  thinkToggle: $("think-toggle"),
  conversationError: $("conversation-error"),
  contextBox: $("context-box"),
  contextMeter: $("context-meter"),
  contextText: $("context-text"),
  exportMd: $("export-md"),
  exportJson: $("export-json"),
  exportMenu: $("export-menu"),
  importFile: $("import-file"),
  pullForm: $("pull-form"),
  pullName: $("pull-name"),
  pullError: $("pull-error"),
};

const state = {
  connected: false,
  models: [], // installed, as /api/models lists them
  modelsError: "",
  loaded: [], // in memory, as /api/loaded lists them
  model: readStored(STORE.model), // the current conversation's model
  endpoint: "chat",
  think: false,
  settings: {}, // the current conversation's saved settings
  conversations: [],
  current: Number(readStored(STORE.conversation)) || null, // conversation on screen
  ollamaDown: "", // the banner's message; "" = reachable
  running: null, // {conversation, model, text, thinking}: the reply this page streams
  remoteGenerating: false, // the server runs a reply here that this page does not stream
  pending: null, // {kind, conversation, model, text?, id?, images?} sent, not yet started
  replySeq: 0, // bumped at every start: an older history fetch must not draw over it
  historySeq: 0,
  loadedSeq: 0,
  systemDirty: false,
  everConnected: false,
  pollTimer: 0,
  info: new Map(), // model name -> /api/show facts (capabilities, context length)
  pulls: new Map(), // model name -> last pull_progress frame
  lastStats: null, // stats of the newest reply on screen, for the context meter
};

const view = new ChatView(els.messages, {
  onRetry: retry, onEdit: editMessage, onRegenerate: regenerate, onDeleteLast: deleteLast,
  onInspect: inspect,
}, $("jump-latest"));
const sidebar = new Sidebar(
  { installed: $("installed-models"), loaded: $("loaded-models"),
    loadedError: $("loaded-error"), select: els.modelSelect, unloadAll: $("unload-all"),
    pulls: $("pulls") },
  { onUnload: unload, onPick: pickModel, onDetails: openModelDetails,
    onCancelPull: (name) => socket.send({ type: "pull_cancel", model: name }) });
const composer = new Composer(
  { form: $("composer"), input: $("prompt"), send: $("send"), stop: $("stop"),
    attach: $("attach"), attachFile: $("attach-file"), attachments: $("attachments"),
    attachError: $("attach-error"), attachReason: $("attach-reason") },
  { onSend: sendChat, onStop: stop });
const conversations = new ConversationList($("conversation-list"), {
  onOpen: openConversation, onRename: renameConversation, onDelete: deleteConversation,
});
const params = new ParamsPanel(
  { form: $("params-form"), reset: $("params-reset"), status: $("params-status"),
    badge: $("params-badge") },
  { onChange: (part) => saveSettings(part) });
const socket = new ChatSocket({ onFrame, onOpen, onClose });

// -- controls -------------------------------------------------------------------

function replyingHere() {
  return Boolean(state.running && state.running.conversation === state.current);
}

function updateControls() {
  composer.update({
    connected: state.connected,
    replying: Boolean(state.running) || state.remoteGenerating,
  });
  els.messages.classList.toggle("replying", replyingHere() || state.remoteGenerating);
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

function showConversationError(message) {
  els.conversationError.textContent = message || "";
  els.conversationError.hidden = !message;
}

// -- models and what they can do --------------------------------------------------

function capable(name, capability) {
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

async function modelChanged() {
  renderCapabilities();
  const name = state.model;
  await loadModelInfo(name);
  if (name === state.model) renderCapabilities();
}

function pickModel(name) {
  if (!name || name === state.model) return;
  state.model = name;
  writeStored(STORE.model, name);
  els.modelSelect.value = name;
  sidebar.markSelected(name);
  saveSettings({ model: name });
  modelChanged();
}

async function openModelDetails(name) {
  const info = await loadModelInfo(name);
  if (!info) {
    view.addNote(`Could not read the details of ${name}.`, "error");
    return;
  }
  showModelDetails(info, async (model) => {
    const ok = await confirmAction(
      `Delete ${model} from disk? It has to be downloaded again to be used.`, "Delete model");
    if (!ok) return;
    try {
      await api.deleteModel(model);
      closeModelDetails();
      state.info.delete(model);
      view.addNote(`Deleted ${model}.`, "info");
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
  if (loaded?.context_length) return { size: loaded.context_length, source: "as loaded" };
  const info = state.info.get(state.model);
  if (info?.context_length) return { size: info.context_length, source: "the model's maximum" };
  return null;
}

function renderContext() {
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
  els.contextMeter.title = `Prompt of the last reply against the context (${ctx.source})`;
  els.contextBox.classList.toggle("context-full", share >= 0.85);
}

// -- chat -----------------------------------------------------------------------

function chatFields() {
  const part = params.read();
  const fields = {
    conversation: state.current, model: state.model, endpoint: state.endpoint,
    options: part.options,
  };
  if (part.keep_alive !== null) fields.keep_alive = part.keep_alive;
  // `think` only goes to a model that says it can: others answer it with a 400.
  if (state.think && capable(state.model, "thinking")) fields.think = true;
  return fields;
}

function sendChat(text, images = []) {
  const fields = chatFields();
  const ids = images.map((image) => image.id);
  const frame = { type: "chat", text, ...fields };
  if (ids.length) frame.images = ids;
  if (!socket.send(frame)) return false;
  state.pending = { kind: "chat", text, model: fields.model, conversation: state.current,
    images: ids };
  return true;
}

function retry(id) {
  const fields = chatFields();
  if (socket.send({ type: "retry", id, ...fields })) {
    state.pending = { kind: "retry", id, model: fields.model, conversation: state.current };
  }
}

function regenerate() {
  const fields = chatFields();
  if (socket.send({ type: "regenerate", ...fields })) {
    state.pending = { kind: "regenerate", model: fields.model, conversation: state.current };
  }
}

function editMessage(id, text) {
  const fields = chatFields();
  if (!socket.send({ type: "edit", id, text, ...fields })) return false;
  state.pending = { kind: "edit", id, text, model: fields.model, conversation: state.current };
  return true;
}

function deleteLast() {
  socket.send({ type: "delete_last", conversation: state.current });
}

function stop() {
  socket.send({ type: "stop" });
}

function saveSystem() {
  if (!socket.send({ type: "system", text: els.systemInput.value,
    conversation: state.current })) {
    els.systemStatus.textContent = "Not connected: not saved";
    return;
  }
  els.systemStatus.textContent = "Saving…";
}

function refusePending() {
  if (state.pending?.kind === "chat" && state.pending.conversation === state.current) {
    composer.restore(state.pending.text);
  }
  state.pending = null;
}

function replyEnded(conversation) {
  state.running = null;
  updateControls();
  if (conversation === state.current) refreshHistory();
  refreshConversations();
}

/** An `invalid` error naming a parameter is shown next to that field. */
function showFieldError(frame) {
  const field = frame.field || "";
  return (field.startsWith("options.") || field === "keep_alive")
    && params.showError(field, frame.message);
}

const frameHandlers = {
  start(frame) {
    const pending = state.pending;
    state.pending = null;
    const conversation = frame.conversation ?? pending?.conversation ?? state.current;
    const model = pending?.model ?? state.model;
    state.running = { conversation, model, text: "", thinking: "" };
    state.replySeq += 1;
    state.remoteGenerating = false;
    if (conversation === state.current) {
      if (pending?.kind === "retry") view.markRetrying(pending.id);
      else if (pending?.kind === "edit" || pending?.kind === "regenerate") {
        view.truncateAfter(frame.message_id);
        if (pending.kind === "edit") {
          const content = els.messages.querySelector(
            `.message.user[data-id="${frame.message_id}"] .message-content`);
          if (content) content.textContent = pending.text;
        }
        view.markRetrying(frame.message_id);
      } else view.addUserMessage(frame.message_id, pending?.text ?? "", pending?.images || []);
      view.startReply(model);
    }
    updateControls();
    refreshConversations();
  },
  chunk(frame) {
    if (!state.running) return;
    state.running.text += frame.text;
    if (replyingHere()) view.appendChunk(frame.text);
  },
  thinking(frame) {
    if (!state.running) return;
    state.running.thinking += frame.text;
    if (replyingHere()) view.appendThinking(frame.text);
  },
  done(frame) {
    const conversation = state.running?.conversation ?? frame.conversation;
    if (replyingHere()) view.endReply(frame.stats || {}, null);
    if (frame.stats && conversation === state.current) {
      state.lastStats = frame.stats;
      renderContext();
    }
    replyEnded(conversation);
  },
  error(frame) {
    const message = frame.message || "Something went wrong.";
    if (frame.code === "busy") {
      refusePending();
      view.addNote(message, "error");
      if (!state.running) refreshHistory(); // another tab's reply: show it and its Stop
      return;
    }
    // A reply's own failure carries `partial`; a failed command (/models) does not.
    if (frame.code === "ollama" && state.running && typeof frame.partial === "boolean") {
      const conversation = state.running.conversation;
      if (replyingHere()) {
        view.endReply(null, message);
        view.addNote(message, "error", true);
      }
      replyEnded(conversation);
      return;
    }
    refusePending();
    if (frame.code === "invalid" && showFieldError(frame)) return;
    view.addNote(message, "error");
    if (frame.code === "no_session") {
      // Any /api request hands out the cookie; the socket then reconnects with it.
      api.getHistory().catch(() => {});
      return;
    }
    if (frame.code === "not_found") refreshConversations();
    refreshHistory();
  },
  cleared(frame) {
    state.pending = null;
    if (frame.conversation !== undefined && frame.conversation !== state.current) return;
    view.clear();
    refreshHistory();
    refreshConversations();
  },
  system_set(frame) {
    if (frame.conversation !== state.current) return;
    state.systemDirty = false;
    els.systemInput.value = frame.text;
    els.systemBadge.hidden = !frame.text;
    els.systemStatus.textContent = frame.text ? "Saved ✓" : "Removed ✓";
  },
  deleted(frame) {
    if (frame.conversation === state.current) refreshHistory();
    refreshConversations();
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
  loaded(frame) {
    if (frame.error) {
      setOllamaDown(frame.error);
      state.loaded = [];
    } else {
      if (state.ollamaDown) setOllamaDown("");
      state.loaded = frame.models || [];
      sidebar.showLoadedError("");
    }
    state.loadedSeq += 1; // a GET still in flight is older than this
    sidebar.renderLoaded(state.loaded);
    renderContext();
  },
  pull_progress(frame) {
    state.pulls.set(frame.model, frame);
    sidebar.renderPulls(state.pulls);
  },
  pull_done(frame) {
    state.pulls.delete(frame.model);
    sidebar.renderPulls(state.pulls);
    if (frame.ok) {
      showPullError("");
      view.addNote(`Downloaded ${frame.model}.`, "info");
      refreshModels();
    } else if (!frame.cancelled) {
      showPullError(`Could not download ${frame.model}: ${frame.error}`);
    }
  },
};

function onFrame(frame) {
  frameHandlers[frame.type]?.(frame);
}

function onOpen() {
  state.connected = true;
  socket.send({ type: "watch" }); // loaded models and downloads are pushed from now on
  updateControls();
  if (state.everConnected) {
    // What happened while we were away (a reply cut short, another tab's messages).
    refreshHistory();
    refreshConversations();
  }
  state.everConnected = true;
}

function onClose() {
  const wasConnected = state.connected;
  state.connected = false;
  refusePending();
  if (state.running) {
    if (replyingHere()) {
      view.endReply(null, "The connection to the server was lost", "interrupted");
    }
    state.running = null;
  }
  if (wasConnected) view.addNote("Lost the connection to the server; reconnecting…", "error");
  updateControls();
}

// -- conversations ------------------------------------------------------------------

async function refreshConversations() {
  try {
    const body = await api.listConversations();
    state.conversations = body.conversations || [];
    showConversationError("");
  } catch (err) {
    if (err.status !== 0) showConversationError(`Could not list conversations: ${err.message}`);
    return;
  }
  renderConversations();
}

function renderConversations() {
  conversations.render(state.conversations, state.current, state.running?.conversation);
  const current = state.conversations.find((c) => c.id === state.current);
  if (current) els.title.textContent = current.title || "New chat";
}

function openConversation(id) {
  closeSidebarOnPhone();
  if (id === state.current) {
    composer.focus();
    return;
  }
  state.current = id;
  writeStored(STORE.conversation, String(id));
  state.systemDirty = false;
  state.remoteGenerating = false;
  state.lastStats = null;
  view.clear();
  renderConversations();
  updateControls();
  refreshHistory();
  composer.focus();
}

async function newChat() {
  closeSidebarOnPhone();
  const empty = !view.messages.size && !replyingHere()
    && !els.messages.querySelector(".message");
  if (empty && state.current) {
    composer.focus(); // this one is still empty: no need for another
    return;
  }
  try {
    const created = await api.createConversation({
      settings: { model: state.model || null, endpoint: state.endpoint, think: state.think },
    });
    showConversationError("");
    state.conversations.unshift({ ...created, messages: 0 });
    openConversation(created.id);
  } catch (err) {
    showConversationError(err.message);
  }
}

async function renameConversation(id, title) {
  try {
    await api.updateConversation(id, { title });
    showConversationError("");
  } catch (err) {
    showConversationError(`Could not rename: ${err.message}`);
  }
  refreshConversations();
}

async function deleteConversation(id) {
  const item = state.conversations.find((c) => c.id === id);
  const title = item?.title || "New chat";
  try {
    await api.deleteConversation(id);
    showConversationError("");
  } catch (err) {
    showConversationError(`Could not delete: ${err.message}`);
    return;
  }
  state.conversations = state.conversations.filter((c) => c.id !== id);
  if (id === state.current) {
    const next = state.conversations[0];
    if (next) openConversation(next.id);
    else {
      state.current = null;
      newChatAfterDelete();
    }
  }
  renderConversations();
  toast(`Deleted “${title}”.`, "Undo", async () => {
    try {
      await api.restoreConversation(id);
      await refreshConversations();
      openConversation(id);
    } catch (err) {
      showConversationError(`Could not restore: ${err.message}`);
    }
  });
}

async function newChatAfterDelete() {
  try {
    const created = await api.createConversation({});
    state.conversations.unshift({ ...created, messages: 0 });
    openConversation(created.id);
  } catch (err) {
    showConversationError(err.message);
  }
}

async function importFile(file) {
  try {
    const created = await api.importConversation(await file.text());
    showConversationError("");
    await refreshConversations();
    openConversation(created.id);
  } catch (err) {
    showConversationError(`Could not import ${file.name}: ${err.message}`);
  }
}

async function saveSettings(part) {
  if (!state.current) return;
  const settings = { ...state.settings, ...part };
  try {
    const saved = await api.updateConversation(state.current, { settings });
    state.settings = saved.settings || settings;
    if ("options" in part || "keep_alive" in part) params.saved(params.read());
  } catch (err) {
    if (!(err.field && showFieldError({ field: err.field, message: err.message }))) {
      showConversationError(`Settings not saved: ${err.message}`);
    }
  }
  renderContext();
}

/** A conversation's saved settings drive the toolbar and the parameters panel. */
function applySettings(settings) {
  state.settings = settings || {};
  const names = state.models.map((m) => m.name);
  const wanted = state.settings.model;
  if (wanted && (names.includes(wanted) || !names.length)) state.model = wanted;
  state.endpoint = state.settings.endpoint === "generate" ? "generate" : "chat";
  state.think = Boolean(state.settings.think);
  els.endpointSelect.value = state.endpoint;
  if (state.model && names.includes(state.model)) els.modelSelect.value = state.model;
  sidebar.markSelected(state.model);
  params.fill(state.settings);
  modelChanged();
}

// -- server truth ---------------------------------------------------------------

async function refreshHistory() {
  const seq = state.replySeq;
  const ask = ++state.historySeq;
  const wanted = state.current;
  let history;
  try {
    history = await api.getHistory(wanted);
  } catch (err) {
    if (err.status === 404) { // deleted elsewhere: show the newest one instead
      state.current = null;
      return refreshHistory();
    }
    if (err.status !== 0) view.addNote(`Could not load the conversation: ${err.message}`, "error");
    return;
  }
  if (ask !== state.historySeq || seq !== state.replySeq) return; // a newer one owns the pane
  if (replyingHere() && history.conversation === state.current) return;
  if (state.current !== history.conversation) {
    state.current = history.conversation;
    writeStored(STORE.conversation, String(state.current));
    renderConversations();
  }
  view.render(history);
  if (state.running && state.running.conversation === state.current) {
    view.resumeReply(state.running.model, state.running.text, state.running.thinking);
  }
  els.title.textContent = history.title || "New chat";
  if (!state.systemDirty) els.systemInput.value = history.system || "";
  els.systemBadge.hidden = !history.system;
  els.exportMd.href = api.exportUrl(state.current, "md");
  els.exportJson.href = api.exportUrl(state.current, "json");
  applySettings(history.settings);
  const replies = history.messages.filter((m) => m.role === "assistant" && m.stats);
  state.lastStats = replies.length ? replies[replies.length - 1].stats : null;
  renderContext();
  state.remoteGenerating = Boolean(history.generating) && !state.running;
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
  const wanted = state.settings.model;
  if (wanted && names.includes(wanted)) state.model = wanted;
  if (!names.includes(state.model) && names.length) state.model = names[0];
  sidebar.renderPicker(state.models, state.model, state.modelsError);
  sidebar.renderInstalled(state.models, state.model, state.modelsError);
  modelChanged();
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
  if (seq !== state.loadedSeq) return; // a newer refresh or push arrived meanwhile
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
  renderContext();
}

/** The history leaves out each reply's request (it repeats the whole context window);
 * the inspector fetches it on demand. */
async function inspect(message) {
  if (message.request) {
    showInspector(message);
    return;
  }
  try {
    showInspector(await api.getMessage(state.current, message.id));
  } catch (err) {
    toast(`Could not load the request: ${err.message}`);
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

async function unloadAll() {
  for (const model of [...state.loaded]) await unload(model.name);
}

function showPullError(message) {
  els.pullError.textContent = message || "";
  els.pullError.hidden = !message;
}

function startPull(event) {
  event.preventDefault();
  const name = els.pullName.value.trim();
  if (!name) {
    showPullError("Type the name of a model, e.g. qwen3:0.6b");
    return;
  }
  if (!socket.send({ type: "pull", model: name })) {
    showPullError("Not connected to the server.");
    return;
  }
  showPullError("");
  els.pullName.value = "";
}

// -- sidebar, keyboard ------------------------------------------------------------

function toggleSidebar() {
  if (NARROW.matches) {
    const open = !document.body.classList.contains("sidebar-open");
    document.body.classList.toggle("sidebar-open", open);
    $("sidebar-backdrop").hidden = !open;
    if (open) $("sidebar").querySelector("button")?.focus();
  } else {
    document.body.classList.toggle("sidebar-hidden");
  }
}

function closeSidebarOnPhone() {
  if (NARROW.matches && document.body.classList.contains("sidebar-open")) toggleSidebar();
}

function onShortcut(event) {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (mod && event.shiftKey && key === "o") {
    event.preventDefault();
    newChat();
  } else if (mod && event.shiftKey && key === "s") {
    event.preventDefault();
    toggleSidebar();
  } else if (mod && (key === "/" || key === "?")) {
    event.preventDefault();
    showHelp();
  } else if (event.key === "Escape" && event.shiftKey) {
    event.preventDefault();
    composer.focus();
  } else if (event.key === "Escape" && !mod && !document.querySelector("dialog[open]")) {
    if (state.running || state.remoteGenerating) {
      event.preventDefault();
      stop();
    } else if (document.body.classList.contains("sidebar-open")) {
      toggleSidebar();
    }
  }
}

// -- start ----------------------------------------------------------------------

els.modelSelect.addEventListener("change", () => pickModel(els.modelSelect.value));
els.endpointSelect.addEventListener("change", () => {
  state.endpoint = els.endpointSelect.value === "generate" ? "generate" : "chat";
  saveSettings({ endpoint: state.endpoint });
});
els.thinkToggle.addEventListener("change", () => {
  state.think = els.thinkToggle.checked;
  saveSettings({ think: state.think });
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
$("unload-all").addEventListener("click", unloadAll);
$("new-chat").addEventListener("click", newChat);
$("import-button").addEventListener("click", () => els.importFile.click());
els.importFile.addEventListener("change", () => {
  const file = els.importFile.files[0];
  els.importFile.value = "";
  if (file) importFile(file);
});
for (const link of [els.exportMd, els.exportJson]) {
  link.addEventListener("click", () => { els.exportMenu.open = false; });
}
$("model-info").addEventListener("click", () => openModelDetails(state.model));
$("help-button").addEventListener("click", showHelp);
$("sidebar-toggle").addEventListener("click", toggleSidebar);
$("sidebar-close").addEventListener("click", toggleSidebar);
$("sidebar-backdrop").addEventListener("click", toggleSidebar);
els.pullForm.addEventListener("submit", startPull);
document.addEventListener("click", (event) => { // the inspector's Copy buttons
  const button = event.target.closest?.("dialog .code-copy[data-copy]");
  if (!button) return;
  import("./clipboard.js").then(({ copyText }) =>
    copyText($(button.dataset.copy).textContent)).then((ok) => {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
});
document.addEventListener("keydown", onShortcut);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !state.connected) refreshLoaded();
});
setInterval(() => sidebar.tick(), 1000);
initTheme($("theme-toggle"));

updateControls();
refreshModels();
refreshLoaded();
refreshConversations();
api.getPulls().then((body) => {
  for (const pull of body.pulls || []) state.pulls.set(pull.model, pull);
  sidebar.renderPulls(state.pulls);
}, () => {});
refreshHistory().then(() => {
  socket.connect();
  refreshConversations();
});
composer.focus();
