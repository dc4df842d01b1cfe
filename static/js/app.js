// The table of contents of the page: it builds the store, the models (each the one
// owner of its piece of state), the views (they draw what they are given) and the
// controllers (they change the models and tell the views), hands each what it needs,
// then starts. No logic lives here.
//
// Models:       store.js (what is remembered), connection.js, reachability.js,
//               conversations.js (the list), conversation.js (the one on screen),
//               drafts.js (what is typed in each conversation's composer),
//               reply.js (this browser's reply), installed.js, loaded.js, pulls.js,
//               settings.js, systemprompt.js
// Views:        chat.js (with message.js, stream.js, scroll.js, versions.js), composer.js,
//               conversationlist.js, sidebar.js, toolbar.js, systembox.js, params.js,
//               contextmeter.js, pullform.js, searchbox.js, chrome.js, dialogs.js, theme.js,
//               settingspanel.js
// Controllers:  history.js, navigation.js, sending.js, replycontrol.js, settingscontrol.js,
//               modelcontrol.js, loadedcontrol.js, pullcontrol.js, status.js, search.js,
//               branches.js, shortcuts.js
// Plumbing:     api.js, socket.js, markdown.js, format.js, dom.js, clipboard.js, offline.js

import { onReachability } from "./api.js";
import { Branches } from "./branches.js";
import { ChatView } from "./chat.js";
import { Chrome, copyFromDialog } from "./chrome.js";
import { CloudSwitch } from "./cloudswitch.js";
import { Composer } from "./composer.js";
import { Connection } from "./connection.js";
import { ContextMeter } from "./contextmeter.js";
import { OpenConversation } from "./conversation.js";
import { ConversationList } from "./conversationlist.js";
import { Conversations } from "./conversations.js";
import { showHelp } from "./dialogs.js";
import { Drafts } from "./drafts.js";
import { History } from "./history.js";
import { Installed } from "./installed.js";
import { Loaded } from "./loaded.js";
import { LoadedControl } from "./loadedcontrol.js";
import { ModelControl } from "./modelcontrol.js";
import { Navigation } from "./navigation.js";
import { registerServiceWorker } from "./offline.js";
import { ParamsPanel } from "./params.js";
import { PullControl } from "./pullcontrol.js";
import { PullForm } from "./pullform.js";
import { Pulls } from "./pulls.js";
import { Reachability } from "./reachability.js";
import { Reply } from "./reply.js";
import { ReplyControl } from "./replycontrol.js";
import { Search } from "./search.js";
import { SearchBox } from "./searchbox.js";
import { Sending } from "./sending.js";
import { Settings } from "./settings.js";
import { SettingsControl } from "./settingscontrol.js";
import { SettingsPanel } from "./settingspanel.js";
import { shortcuts } from "./shortcuts.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket, frameRouter } from "./socket.js";
import { Status } from "./status.js";
import { Store } from "./store.js";
import { SystemBox } from "./systembox.js";
import { SystemPrompt } from "./systemprompt.js";
import { Theme } from "./theme.js";
import { Toolbar } from "./toolbar.js";

const $ = (id) => document.getElementById(id);

// -- models ------------------------------------------------------------------------

const store = new Store();
const socket = new ChatSocket({
  onFrame: (frame) => onFrame(frame),
  onOpen: () => replies.opened(),
  onClose: (reason) => replies.closed(reason),
});
const connection = new Connection(socket);
const reachability = new Reachability();
const conversations = new Conversations();
const conversation = new OpenConversation(store);
const drafts = new Drafts(store);
const reply = new Reply();
const installed = new Installed(store);
const loaded = new Loaded(store);
const pulls = new Pulls();
const settings = new Settings();
const system = new SystemPrompt();

// -- views -------------------------------------------------------------------------

const view = new ChatView($("messages"), {
  onRetry: (id) => sending.retry(id),
  onEdit: (id, text) => sending.edit(id, text),
  onRegenerate: () => sending.regenerate(),
  onDeleteLast: () => sending.deleteLast(),
  onInspect: (message) => history.inspect(message),
  onVersion: (id, which) => branches.switchVersion(id, which),
}, $("jump-latest"), () => installed.severalHosts);
const sidebar = new Sidebar(
  { installed: $("installed-models"), loaded: $("loaded-models"), loadedError: $("loaded-error"),
    select: $("model-select"), unloadAll: $("unload-all"), pulls: $("pulls") },
  { onUnload: (name, host) => memory.unload(name, host), onPick: (value) => models.pick(value),
    onDetails: (name, host) => models.openDetails(name, host),
    onCancelPull: (name, host) => downloads.cancel(name, host) });
const composer = new Composer(
  { form: $("composer"), input: $("prompt"), send: $("send"), stop: $("stop"),
    attach: $("attach"), attachFile: $("attach-file"), attachments: $("attachments"),
    attachError: $("attach-error"), attachReason: $("attach-reason") },
  { onSend: (text, images) => sending.chat(text, images), onStop: () => sending.stop(),
    onType: (text) => navigation.typed(text) });
const list = new ConversationList($("conversation-list"), {
  onOpen: (id) => navigation.open(id), onRename: (id, title) => navigation.rename(id, title),
  onDelete: (id) => navigation.remove(id),
});
const params = new ParamsPanel(
  { form: $("params-form"), reset: $("params-reset"), status: $("params-status"),
    badge: $("params-badge") },
  { onChange: (part) => settingsControl.save(part), onShown: () => settingsPanel.refresh(),
    onError: () => settingsPanel.reveal() });
const searchBox = new SearchBox(
  { input: $("search-input"), results: $("search-results"), status: $("search-status"),
    list: $("conversation-list") },
  { onQuery: (text) => search.query(text), onPick: (hit) => search.openHit(hit) });
const toolbar = new Toolbar(
  { title: $("chat-title"), modelSelect: $("model-select"), endpointSelect: $("endpoint-select"),
    thinkToggle: $("think-toggle"), thinkField: $("think-field"), thinkLevel: $("think-level"),
    thinkLevelField: $("think-level-field"), exportMenu: $("export-menu"), exportMd: $("export-md"),
    exportJson: $("export-json"), modelInfo: $("model-info") },
  { onPick: (value) => models.pick(value),
    onEndpoint: (endpoint) => settingsControl.chooseEndpoint(endpoint),
    onThink: (on) => settingsControl.chooseThink(on),
    onDetails: () => models.openDetails(installed.model),
    onShown: () => settingsPanel.refresh() });
const systemBox = new SystemBox(
  { input: $("system-prompt"), save: $("system-save"), status: $("system-status"),
    badge: $("system-badge") },
  { onEdit: () => settingsControl.systemEdited(), onSave: () => settingsControl.saveSystem(),
    onShown: () => settingsPanel.refresh() });
const settingsPanel = new SettingsPanel(
  { panel: $("settings-panel"), chip: $("settings-chip"), summary: $("settings-summary"),
    count: $("settings-count"), close: $("settings-close"), backdrop: $("settings-backdrop") },
  { describe: () => ({ system: systemBox.isSet,
    changes: params.changes() + (toolbar.endpointChanged ? 1 : 0) }) });
const contextMeter = new ContextMeter(
  { box: $("context-box"), meter: $("context-meter"), text: $("context-text") });
const pullForm = new PullForm(
  { form: $("pull-form"), name: $("pull-name"), host: $("pull-host"), error: $("pull-error"),
    locked: $("pull-locked"), deleteButton: $("model-delete"),
    deleteLocked: $("model-delete-locked") },
  { onPull: (name, host) => downloads.pull(name, host) });
const chrome = new Chrome(
  { connection: $("connection-status"), serverBanner: $("server-banner"),
    banner: $("ollama-banner"), replyStatus: $("reply-status"),
    replyStatusText: $("reply-status-text"), replyGo: $("reply-go"),
    conversationError: $("conversation-error"), announcer: $("reply-announcer"),
    sidebar: $("sidebar"), backdrop: $("sidebar-backdrop") },
  { onGoToReply: () => reply.running && navigation.open(reply.running.conversation) });
new Theme($("theme-toggle"), $("dark-palette"), store);

// -- controllers -------------------------------------------------------------------

const status = new Status({ connection, reply, conversation, conversations, reachability,
  installed, loaded, settings, chrome, composer, view, systemBox, contextMeter, params });
const history = new History({ conversation, reply, view, toolbar, act: {
  listChanged: () => navigation.renderList(),
  showSystem: (shown) => settingsControl.showSystem(shown),
  applySettings: (saved, id) => settingsControl.apply(saved, id),
  preloadModel: () => memory.preload(installed.model),
  showContext: () => status.showContext(),
  updateControls: () => status.update(),
} });
const navigation = new Navigation({ conversations, conversation, settings, drafts, reply,
  list, view,
  toolbar, composer, chrome, act: {
    refreshHistory: () => history.refresh(),
    showExport: () => history.showExport(),
    updateControls: () => status.update(),
    leaveSystem: () => settingsControl.leaveSystem(),
    cleanSystem: () => system.clean(),
    newSettings: () => settingsControl.newSettings(),
  } });
const settingsControl = new SettingsControl({ settings, system, installed, conversation,
  connection, params, systemBox, toolbar, chrome, act: {
    refreshHistory: () => history.refresh(),
    useSavedModel: (wanted) => models.useSaved(wanted),
    showContext: () => status.showContext(),
    notSent: (why) => composer.notSent(why),
  } });
const models = new ModelControl({ installed, settings, reachability, sidebar, toolbar,
  composer, pullForm, view, chrome, act: {
    saveSettings: (part) => settingsControl.save(part),
    preload: (name) => memory.preload(name),
    showContext: () => status.showContext(),
  } });
const memory = new LoadedControl({ loaded, installed, reply, conversation, reachability,
  sidebar, act: {
    hostsChanged: (hosts) => models.hostsChanged(hosts),
    showContext: () => status.showContext(),
    keepAlive: () => params.read().keep_alive,
  } }, document.body.dataset.loadOnPick === "on");
const downloads = new PullControl({ pulls, connection, sidebar, pullForm, view, act: {
  refreshModels: () => models.refresh(),
  rightsKnown: (me) => {
    params.limitKeepAlive(me.max_keep_alive);
    chrome.showRole(me);
  },
} });
const cloudSwitch = new CloudSwitch({ field: $("cloud-guests-field"), box: $("cloud-guests"),
  error: $("cloud-guests-error") });
const sending = new Sending({ connection, reply, conversation, drafts,
  fields: () => settingsControl.fields(), gone: () => navigation.sayGone() });
const replies = new ReplyControl({ reply, conversation, connection, loaded, reachability,
  view, composer, chrome, act: {
    refreshHistory: () => history.refresh(),
    refreshConversations: () => navigation.refreshList(),
    refreshLoaded: () => memory.refresh(),
    refreshModels: () => models.refresh(),
    renderLoaded: () => memory.render(),
    showLoadedList: (shown) => memory.showList(shown),
    showContext: () => status.showContext(),
    updateControls: () => status.update(),
    currentModel: () => installed.model,
    adopt: (id) => navigation.adopt(id),
    saveStarted: () => settingsControl.saveStarted(),
    showFieldError: (frame) => settingsControl.showFieldError(frame),
    pullRefused: (frame) => downloads.refused(frame),
    noSession: () => history.touchSession(),
  } });
const branches = new Branches({ conversation, reply, view,
  refreshHistory: () => history.refresh() });
const search = new Search({ conversation, searchBox, view, chrome, act: {
  bringIntoView: (id, message) => branches.bringIntoView(id, message),
  open: (id) => navigation.open(id),
  refreshHistory: () => history.refresh(),
} });
const onFrame = frameRouter(replies.frames, settingsControl.frames, memory.frames,
  downloads.frames, navigation.frames);

// -- the page's own controls -------------------------------------------------------

$("refresh-loaded").addEventListener("click", () => {
  memory.refreshAsked();
  if (!installed.list.length) models.refresh();
});
$("unload-all").addEventListener("click", () => memory.unloadAll());
$("new-chat").addEventListener("click", () => navigation.newChat());
$("import-button").addEventListener("click", () => $("import-file").click());
$("import-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (file) navigation.importFile(file);
});
$("help-button").addEventListener("click", showHelp);
for (const id of ["sidebar-toggle", "sidebar-close", "sidebar-backdrop"]) {
  $(id).addEventListener("click", () => chrome.toggleSidebar());
}
document.addEventListener("click", copyFromDialog);
document.addEventListener("keydown", shortcuts({
  newChat: () => navigation.newChat(),
  toggleSidebar: () => chrome.toggleSidebar(),
  openSearch: () => search.open(),
  focusComposer: () => composer.focus(),
  replying: () => reply.runsIn(conversation.current) || conversation.remoteGenerating,
  stop: () => sending.stop(),
  drawerOpen: () => chrome.drawerOpen,
}));
document.addEventListener("keydown", (event) => chrome.trapDrawerFocus(event));
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !connection.connected) memory.refresh();
});
setInterval(() => sidebar.tick(), 1000);
reachability.addEventListener("change", () => status.showReachability());
reachability.addEventListener("ollamaback", () => models.ollamaBack());
onReachability((answered) => reachability.setServerDown(!answered));
registerServiceWorker();

// -- start -------------------------------------------------------------------------

status.update();
models.refresh();
memory.refresh();
navigation.refreshList();
downloads.loadPulls();
downloads.loadRights();
cloudSwitch.load();
history.refresh().then(() => {
  navigation.showDraft();
  connection.connect();
  navigation.refreshList();
});
composer.focus();
