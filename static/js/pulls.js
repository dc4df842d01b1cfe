// The sidebar's downloads: the Pull form, downloads in progress (also those another tab
// started), their errors said in plain words, and whether this browser may manage models
// at all (GET /api/me).

import * as api from "./api.js";
import { refreshModels } from "./models.js";
import { sidebar, socket, view } from "./parts.js";
import { els, severalHosts, state } from "./store.js";

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

/** Pushed frames about downloads. */
export const pullFrames = {
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
