// Downloads: the Pull form sends `pull`, pushed frames say how it goes (also for those
// another tab started), errors are said in plain words, and a guest on a shared server
// may not manage models (GET /api/me).

import * as api from "./api.js";

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

export class PullControl {
  /**
   * @param {object} parts `pulls` (the model it changes), `connection`, the views
   *   `sidebar`, `pullForm`, `view` (notes), and `act.refreshModels`
   */
  constructor({ pulls, connection, sidebar, pullForm, view, act }) {
    Object.assign(this, { pulls, connection, sidebar, pullForm, view, act });
  }

  #render() {
    this.sidebar.renderPulls(this.pulls.all, this.pulls.locked);
  }

  /** An error frame answering a `pull` (a bad name, already downloading). */
  refused(frame) {
    this.pullForm.showError((frame.message || "").replace(/^model: /, ""));
  }

  pull(name, host) {
    if (!name) {
      this.pullForm.showError("Type the name of a model, e.g. qwen3:0.6b");
      return;
    }
    const frame = { type: "pull", model: name };
    if (host) frame.host = host;
    if (!this.connection.send(frame)) {
      this.pullForm.showError("Not connected to the server.");
      return;
    }
    this.pullForm.showError(""); // the name stays until the download succeeds
  }

  cancel(name, host) {
    this.connection.send(host ? { type: "pull_cancel", model: name, host }
      : { type: "pull_cancel", model: name });
  }

  /** What this browser may do here: on a shared server a guest may not download or
   * delete models, so those controls are disabled with the reason shown. */
  loadRights() {
    api.getMe().then((me) => {
      this.pulls.lock(me.manage_models ? ""
        : me.reason || "Only the admin may manage models here.");
      this.pullForm.lock(this.pulls.locked);
      this.#render();
      this.act.rightsKnown(me);
    }, () => {});
  }

  /** Downloads already running when the page opens (another tab may have started them). */
  loadPulls() {
    api.getPulls().then((body) => {
      for (const pull of body.pulls || []) this.pulls.progressed(pull);
      this.#render();
    }, () => {});
  }

  /** Pushed frames about downloads. */
  frames = {
    pull_progress: (frame) => {
      this.pulls.progressed(frame);
      this.#render();
    },
    pull_done: (frame) => {
      this.pulls.ended(frame);
      this.#render();
      if (frame.ok) {
        this.pullForm.showError("");
        this.pullForm.downloaded(frame.model);
        this.view.addNote(`Downloaded ${frame.model}.`, "info");
        this.act.refreshModels();
      } else if (!frame.cancelled) {
        this.pullForm.showError(pullTrouble(frame.model, frame.error), frame.error);
      }
    },
  };
}
