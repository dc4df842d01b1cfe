// The current conversation's settings: model, endpoint, think, the generation
// parameters and the system prompt — saved on the server, applied to the toolbar.

import * as api from "./api.js";
import { showConversationError } from "./chrome.js";
import { renderContext } from "./contextmeter.js";
import { capable, modelChanged } from "./models.js";
import { ensureConversation, refreshHistory } from "./navigation.js";
import { params, sidebar, socket } from "./parts.js";
import { els, pickerValue, state } from "./store.js";

/** The fields every chat, retry, edit and regenerate frame carries. */
export function chatFields() {
  const part = params.read();
  const fields = {
    conversation: state.current, model: state.model, endpoint: state.endpoint,
    options: part.options,
  };
  if (part.keep_alive !== null) fields.keep_alive = part.keep_alive;
  if (state.host) fields.host = state.host; // pinned in the picker ("… on gpu")
  // `think` only goes to a model that says it can (others answer it with a 400), off too:
  // a thinking model thinks when it is left out. The server sends what fits the model.
  if (capable(state.model, "thinking")) fields.think = state.think;
  return fields;
}

export function chooseEndpoint() {
  state.endpoint = els.endpointSelect.value === "generate" ? "generate" : "chat";
  saveSettings({ endpoint: state.endpoint });
}

export function chooseThink(event) {
  state.think = event?.target === els.thinkLevel ? els.thinkLevel.value
    : els.thinkToggle.checked;
  saveSettings({ think: state.think });
}

export function systemEdited() {
  state.systemDirty = true;
  els.systemStatus.textContent = "Not saved";
}

export async function saveSystem() {
  if (state.draft && !state.current) { // the first save makes the conversation
    if (!state.connected) {
      els.systemStatus.textContent = "Not connected: not saved";
      return;
    }
    els.systemStatus.textContent = "Saving…";
    try {
      await ensureConversation();
    } catch (err) {
      els.systemStatus.textContent = `Not saved: ${err.message}`;
      return;
    }
  }
  if (!socket.send({ type: "system", text: els.systemInput.value,
    conversation: state.current })) {
    els.systemStatus.textContent = "Not connected: not saved";
    return;
  }
  els.systemStatus.textContent = "Saving…";
}

/** An `invalid` error naming parameters is shown next to each field it names (all of
 * them when the server lists several). */
export function showFieldError(frame) {
  const named = frame.fields || (frame.field ? { [frame.field]: frame.message } : {});
  let shown = false;
  params.clearErrors();
  for (const [field, message] of Object.entries(named)) {
    if (field.startsWith("options.") || field === "keep_alive" || field === "trim") {
      shown = params.showError(field, message) || shown;
    }
  }
  return shown;
}

/** A chat not stored yet keeps a picked model in the page; any other setting saved
 * creates its conversation, with every setting the fields hold. */
async function saveDraftSettings(part) {
  state.settings = { ...state.settings, ...part };
  if (Object.keys(part).every((key) => key === "model")) return;
  try {
    await ensureConversation();
    if ("options" in part || "keep_alive" in part) params.saved(params.read());
  } catch (err) {
    if (!((err.field || err.fields)
        && showFieldError({ field: err.field, fields: err.fields, message: err.message }))) {
      showConversationError(`Settings not saved: ${err.message}`);
    }
  }
  renderContext();
}

export async function saveSettings(part) {
  if (state.draft && !state.current) {
    await saveDraftSettings(part);
    return;
  }
  // Only into the conversation the fields were filled from (its history has arrived).
  if (!state.current || state.settingsFor !== state.current) return;
  const settings = { ...state.settings, ...part };
  const trimmed = "trim" in part && (part.trim || "steps") !== (state.settings.trim || "steps");
  try {
    const saved = await api.updateConversation(state.current, { settings });
    state.settings = saved.settings || settings;
    if ("options" in part || "keep_alive" in part) params.saved(params.read());
    if (trimmed) refreshHistory(); // the marks follow the new window
  } catch (err) {
    if (!((err.field || err.fields)
        && showFieldError({ field: err.field, fields: err.fields, message: err.message }))) {
      showConversationError(`Settings not saved: ${err.message}`);
    }
  }
  renderContext();
}

/** A conversation's saved settings drive the toolbar and the parameters panel. */
export function applySettings(settings, conversation = state.current) {
  state.settings = settings || {};
  state.settingsFor = conversation;
  const names = state.models.map((m) => m.name);
  const wanted = state.settings.model;
  if (wanted && (names.includes(wanted) || !names.length)) state.model = wanted;
  state.endpoint = state.settings.endpoint === "generate" ? "generate" : "chat";
  const think = state.settings.think; // on, off, or a level (low, medium, high)
  state.think = typeof think === "string" ? think : Boolean(think);
  els.endpointSelect.value = state.endpoint;
  if (state.model && names.includes(state.model)) els.modelSelect.value = pickerValue();
  sidebar.markSelected(state.model);
  params.fill(state.settings);
  modelChanged();
}

/** Pushed frames about settings. */
export const settingsFrames = {
  system_set(frame) {
    state.systemDrafts.delete(frame.conversation);
    if (frame.conversation !== state.current) return;
    state.systemDirty = false;
    els.systemInput.value = frame.text;
    els.systemBadge.hidden = !frame.text;
    els.systemStatus.textContent = frame.text ? "Saved ✓" : "Removed ✓";
  },
};
