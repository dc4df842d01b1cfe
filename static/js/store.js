// The page's state, in one place: `state` is the only owner of what the page knows,
// `els` the elements the controllers write to. Views never read it; controllers do.

const STORE = { model: "webchat.model", conversation: "webchat.conversation" };

export function readStored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

export function writeStored(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode or storage full: the choice just is not remembered
  }
}

export const $ = (id) => document.getElementById(id);

export const els = {
  banner: $("ollama-banner"),
  connection: $("connection-status"),
  messages: $("messages"),
  title: $("chat-title"),
  modelSelect: $("model-select"),
  pullHost: $("pull-host"),
  endpointSelect: $("endpoint-select"),
  systemInput: $("system-prompt"),
  systemSave: $("system-save"),
  systemStatus: $("system-status"),
  systemBadge: $("system-badge"),
  refreshLoaded: $("refresh-loaded"),
  thinkToggle: $("think-toggle"),
  thinkField: $("think-field"),
  thinkLevel: $("think-level"),
  thinkLevelField: $("think-level-field"),
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
  replyStatus: $("reply-status"),
  replyStatusText: $("reply-status-text"),
  replyGo: $("reply-go"),
  announcer: $("reply-announcer"),
  serverBanner: $("server-banner"),
};

export const state = {
  connected: false,
  models: [], // installed, as /api/models lists them
  modelsError: "",
  loaded: [], // in memory, as /api/loaded lists them
  hosts: [], // several Ollama hosts: [{label, url, up, error}] in order of preference
  host: "", // the host the model picker pins ("" = wherever the server routes it)
  model: readStored(STORE.model), // the current conversation's model
  endpoint: "chat",
  think: false, // the Think control: true, false, or a level ("low", "medium", "high")
  settings: {}, // the current conversation's saved settings
  settingsFor: null, // the conversation `settings` came from: never save them into another
  conversations: [],
  current: Number(readStored(STORE.conversation)) || null, // conversation on screen
  // The browser has no conversation yet (/api/history said `conversation: null`): the
  // screen is an empty chat that nothing stores until the first message or save.
  draft: false,
  ollamaDown: "", // the banner's message; "" = reachable
  serverDown: false, // the last request to the WebChat server got no answer at all
  running: null, // {conversation, model, text, thinking, notice}: this browser's reply
  remoteGenerating: false, // the server runs a reply here that this page does not stream
  pending: null, // {kind, conversation, model, text?, id?, images?} sent, not yet started
  replySeq: 0, // bumped at every start: an older history fetch must not draw over it
  historySeq: 0,
  loadedSeq: 0,
  systemDirty: false,
  systemDrafts: new Map(), // conversation id -> system prompt typed there, not saved
  everConnected: false,
  lostNote: null, // the "reconnecting" note, removed once connected again
  pollTimer: 0,
  loadedContext: new Map(), // model name -> context length it was last loaded with
  info: new Map(), // model name -> /api/show facts (capabilities, context length)
  pulls: new Map(), // model name -> last pull_progress frame
  lastStats: null, // stats of the newest reply on screen, for the context meter
  reveal: null, // message id to scroll to once its conversation is drawn (a search hit)
  preloading: new Set(), // models being loaded because they were picked (POST /api/load)
  preloadWanted: "", // a model to load once the loaded list is known
  preloadOnHistory: true, // load the model of the conversation being opened (at start too)
  loadedKnown: false, // /api/ps answered at least once
  messages: [], // the open conversation's messages as last fetched (the inspector's list)
};

/** The server loads a picked model at once unless it runs with --no-preload. */
export const loadOnPick = document.body.dataset.loadOnPick === "on";

export { STORE };

export function replyingHere() {
  return Boolean(state.running && state.running.conversation === state.current);
}

/** The picker's value for the current model: `name`, or `name@host` when pinned. */
export function pickerValue() {
  return state.host ? `${state.model}@${state.host}` : state.model;
}

/** More than one Ollama host: the page names hosts, groups loaded models by host. */
export function severalHosts() {
  return state.hosts.length > 1;
}
