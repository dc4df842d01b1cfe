// The table of contents of the page: it wires controls to the module that owns what
// they change, then starts. No logic lives here.
//
//   store.js       the page's state and the elements controllers write to
//   parts.js       the views and the socket, built once with their callbacks
//   navigation.js  the conversation list, which one is open, its history
//   reply.js       the reply in progress: frames out and frames in
//   models.js      installed models, the picker, what a model can do, the hosts
//   loaded.js      models loaded in memory, unloading, loading a picked model
//   pulls.js       downloads, and whether this browser may manage models
//   contextmeter.js  the prompt's share of the context window
//   settings.js    model, endpoint, think, parameters, system prompt
//   chrome.js      connection badge, Ollama banner, sidebar drawer
//   search.js      search across conversations (its view: searchbox.js)
//   shortcuts.js   the keyboard
//   offline.js     the service worker that keeps the app for reloads while offline

import { onReachability } from "./api.js";
import {
  copyFromDialog, setServerDown, toggleSidebar, trapDrawerFocus, updateControls,
} from "./chrome.js";
import { initTheme, showHelp } from "./dialogs.js";
import {
  importFile, newChat, openConversation, refreshConversations, refreshHistory,
} from "./navigation.js";
import { refreshLoaded, unloadAll } from "./loaded.js";
import { openModelDetails, pickModel, refreshModels } from "./models.js";
import { registerServiceWorker } from "./offline.js";
import { composer, sidebar, socket } from "./parts.js";
import { loadPulls, loadRights, startPull } from "./pulls.js";
import { chooseEndpoint, chooseThink, saveSystem, systemEdited } from "./settings.js";
import { onShortcut } from "./shortcuts.js";
import { $, els, state } from "./store.js";

els.modelSelect.addEventListener("change", () => pickModel(els.modelSelect.value));
els.endpointSelect.addEventListener("change", chooseEndpoint);
els.thinkToggle.addEventListener("change", chooseThink);
els.thinkLevel.addEventListener("change", chooseThink);
els.systemInput.addEventListener("input", systemEdited);
els.systemSave.addEventListener("click", saveSystem);
els.refreshLoaded.addEventListener("click", () => {
  refreshLoaded();
  if (!state.models.length) refreshModels();
});
$("unload-all").addEventListener("click", unloadAll);
$("new-chat").addEventListener("click", newChat);
els.replyGo.addEventListener("click", () => {
  if (state.running) openConversation(state.running.conversation);
});
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
document.addEventListener("click", copyFromDialog);
document.addEventListener("keydown", onShortcut);
document.addEventListener("keydown", trapDrawerFocus);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !state.connected) refreshLoaded();
});
setInterval(() => sidebar.tick(), 1000);
initTheme($("theme-toggle"));
onReachability((answered) => setServerDown(!answered));
registerServiceWorker();

updateControls();
refreshModels();
refreshLoaded();
refreshConversations();
loadPulls();
loadRights();
refreshHistory().then(() => {
  socket.connect();
  refreshConversations();
});
composer.focus();
