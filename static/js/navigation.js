// The conversation list and moving between conversations: which one is on screen
// (`state.current`), its history as the server has it, new / rename / delete / import.

import * as api from "./api.js";
import { closeSidebarOnPhone, showConversationError, updateControls } from "./chrome.js";
import { showInspector, toast } from "./dialogs.js";
import { renderContext } from "./contextmeter.js";
import { preload } from "./loaded.js";
import { composer, conversations, view } from "./parts.js";
import { applySettings } from "./settings.js";
import { STORE, els, replyingHere, state, writeStored } from "./store.js";

const REMOTE_POLL_MS = 2000;

export async function refreshConversations() {
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

export function openConversation(id) {
  closeSidebarOnPhone();
  if (id === state.current) {
    composer.focus();
    return;
  }
  if (state.systemDirty && state.current) {
    state.systemDrafts.set(state.current, els.systemInput.value); // kept for coming back
  }
  state.current = id;
  showConversationError(""); // an import or rename error was about where we were
  writeStored(STORE.conversation, String(id));
  state.systemDirty = false;
  state.remoteGenerating = false;
  state.lastStats = null;
  state.settingsFor = null; // until its history comes, nothing is saved into it
  state.preloadOnHistory = true; // its model is loaded if it is not
  view.clear();
  renderConversations();
  updateControls();
  refreshHistory();
  composer.focus();
}

export async function newChat() {
  closeSidebarOnPhone();
  const empty = !view.messages.size && !replyingHere()
    && !els.messages.querySelector(".message");
  if (empty && (state.current || state.draft)) {
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

export async function renameConversation(id, title) {
  try {
    await api.updateConversation(id, { title });
    showConversationError("");
  } catch (err) {
    showConversationError(`Could not rename: ${err.message}`);
  }
  refreshConversations();
}

export async function deleteConversation(id) {
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
    else startDraft(); // the last one went: an empty chat, stored once used
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

/** No conversation on screen: the server's newest one, or else an empty chat that
 * nothing stores until its first message or save. */
function startDraft() {
  state.current = null;
  writeStored(STORE.conversation, "");
  state.systemDirty = false;
  state.remoteGenerating = false;
  state.lastStats = null;
  state.settingsFor = null;
  view.clear();
  updateControls();
  refreshHistory();
}

export async function importFile(file) {
  try {
    const created = await api.importConversation(await file.text());
    showConversationError("");
    await refreshConversations();
    openConversation(created.id);
  } catch (err) {
    showConversationError(`Could not import ${file.name}: ${err.message}`);
  }
}

// -- a chat not stored yet ---------------------------------------------------------

/** The conversation the server made for this screen's chat (its first message, a save)
 * is the one on screen from now on. */
export function adopt(id) {
  state.current = id;
  state.draft = false;
  state.settingsFor = id; // what the fields hold now is this conversation's
  writeStored(STORE.conversation, String(id));
  showExport();
}

let creating = null; // the POST in flight: two quick saves make one conversation

/** The conversation on screen, created with the fields' settings when there is none yet
 * (a system prompt or a parameter saved before the first message). */
export function ensureConversation() {
  if (state.current) return Promise.resolve(state.current);
  creating ??= api.createConversation({
    settings: { ...state.settings, model: state.model || null, endpoint: state.endpoint,
      think: state.think },
  }).then((created) => {
    if (!state.current) adopt(created.id);
    state.settings = created.settings || state.settings;
    refreshConversations();
    return state.current;
  }).finally(() => {
    creating = null;
  });
  return creating;
}

function showExport() {
  els.exportMenu.hidden = !state.current;
  if (!state.current) return;
  els.exportMd.href = api.exportUrl(state.current, "md");
  els.exportJson.href = api.exportUrl(state.current, "json");
}

// -- server truth ---------------------------------------------------------------

export async function refreshHistory() {
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
  // A reply streaming here is drawn too: the history, then the live reply at its end.
  state.draft = history.conversation === null; // nothing stored yet: an empty chat
  if (state.current !== history.conversation) {
    state.current = history.conversation;
    writeStored(STORE.conversation, state.current ? String(state.current) : "");
    renderConversations();
  }
  view.render(history, state.reveal);
  state.reveal = null;
  if (state.running && state.running.conversation === state.current) {
    view.resumeReply(state.running.model, state.running.text, state.running.thinking);
  }
  els.title.textContent = history.title || "New chat";
  const draft = state.systemDrafts.get(state.current);
  if (draft !== undefined && !state.systemDirty) {
    els.systemInput.value = draft;
    state.systemDirty = true;
    els.systemStatus.textContent = "Not saved (your draft)";
  } else if (!state.systemDirty) {
    els.systemInput.value = history.system || "";
    els.systemStatus.textContent = "";
  }
  els.systemBadge.hidden = !history.system;
  showExport();
  applySettings(history.settings, history.conversation);
  state.messages = history.messages;
  if (state.preloadOnHistory) {
    state.preloadOnHistory = false;
    if (history.conversation !== null) preload(state.model); // an empty chat waits for a pick
  }
  const replies = history.messages.filter((m) => m.role === "assistant"
    && typeof m.stats?.prompt_eval_count === "number");
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

/** The history leaves out each reply's request (it repeats the whole context window);
 * the inspector fetches it on demand. */
export async function inspect(message) {
  if (message.request) {
    showInspector(message, state.messages);
    return;
  }
  try {
    showInspector(await api.getMessage(state.current, message.id), state.messages);
  } catch (err) {
    toast(`Could not load the request: ${err.message}`);
  }
}
