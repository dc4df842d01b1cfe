// The current conversation's settings: model, endpoint, think, the generation
// parameters and the system prompt — saved on the server, applied to the toolbar and
// the panels, and carried by every reply frame.

import * as api from "./api.js";

export class SettingsControl {
  /**
   * @param {object} parts `settings` and `system` (the models it changes), `installed`,
   *   `conversation`, `connection`, the views `params`, `systemBox`, `toolbar`, `chrome`,
   *   and `act`: refreshHistory, useSavedModel, showContext, notSent (why a message was
   *   not sent, said at the composer)
   */
  constructor({ settings, system, installed, conversation, connection, params, systemBox,
    toolbar, chrome, act }) {
    Object.assign(this, { settings, system, installed, conversation, connection, params,
      systemBox, toolbar, chrome, act });
  }

  /** The fields every chat, retry, edit and regenerate frame carries. */
  fields() {
    const bad = this.params.flagBadInput();
    if (bad.length) { // the panel may be closed: said at the composer too
      this.act.notSent(`Not sent: ${bad.join(", ")} in Parameters ${bad.length > 1 ? "are"
        : "is"} not a number. Fix ${bad.length > 1 ? "them" : "it"} or clear ${bad.length > 1
        ? "them" : "it"}.`);
      return null;
    }
    const part = this.params.read();
    const { installed, settings } = this;
    const fields = {
      conversation: this.conversation.current, model: installed.model,
      endpoint: settings.endpoint, options: part.options,
    };
    if (part.keep_alive !== null) fields.keep_alive = part.keep_alive;
    if (installed.host) fields.host = installed.host; // pinned in the picker ("… on gpu")
    // `think` only goes to a model that says it can (others answer it with a 400), off too:
    // a thinking model thinks when it is left out. The server sends what fits the model.
    if (installed.capable(installed.model, "thinking")) fields.think = settings.think;
    if (this.conversation.draft && !this.conversation.current) {
      // A chat not stored yet: its first message makes it, with what was chosen for it.
      fields.new = true;
      fields.settings = { ...settings.saved, ...this.newSettings() };
      if (this.system.kept) fields.system = this.system.kept;
    }
    return fields;
  }

  /** What a conversation is created with: the fields' settings. */
  newSettings() {
    return { model: this.installed.model || null, endpoint: this.settings.endpoint,
      think: this.settings.think };
  }

  chooseEndpoint(value) {
    this.settings.chooseEndpoint(value);
    this.save({ endpoint: this.settings.endpoint });
  }

  chooseThink(on) {
    this.settings.chooseThink(on);
    this.save({ think: this.settings.think });
  }

  /** A reply sent from a chat not stored yet started: its conversation keeps the model
   * and mode it was started with. */
  saveStarted() {
    this.save(this.newSettings());
  }

  /** An `invalid` error naming parameters is shown next to each field it names (all of
   * them when the server lists several). */
  showFieldError(frame) {
    const named = frame.fields || (frame.field ? { [frame.field]: frame.message } : {});
    let shown = false;
    this.params.clearErrors();
    for (const [field, message] of Object.entries(named)) {
      if (field.startsWith("options.") || field === "keep_alive" || field === "trim") {
        shown = this.params.showError(field, message) || shown;
      }
    }
    return shown;
  }

  #failed(err) {
    if (!((err.field || err.fields)
        && this.showFieldError({ field: err.field, fields: err.fields, message: err.message }))) {
      this.chrome.showConversationError(`Settings not saved: ${err.message}`);
    }
  }

  /** A chat not stored yet keeps its settings in the page: its first message carries
   * them, so a setting changed in a new chat that is never used stores nothing. */
  async #saveDraft(part) {
    const wanted = { ...this.settings.saved, ...part };
    try {
      if (!Object.keys(part).every((key) => key === "model")) await api.checkSettings(wanted);
      this.settings.stored(wanted);
      if ("options" in part || "keep_alive" in part) this.params.saved(this.params.read());
    } catch (err) {
      this.#failed(err);
    }
    this.act.showContext();
  }

  async save(part) {
    const { settings, conversation } = this;
    if (conversation.draft && !conversation.current) {
      await this.#saveDraft(part);
      return;
    }
    // Only into the conversation the fields were filled from (its history has arrived).
    const id = conversation.current;
    if (!id || settings.savedFor !== id) return;
    const wanted = { ...settings.saved, ...part };
    const trimmed = "trim" in part && (part.trim || "steps") !== (settings.saved.trim || "steps");
    try {
      const saved = await api.updateConversation(id, { settings: wanted });
      settings.stored(saved.settings || wanted);
      if ("options" in part || "keep_alive" in part) this.params.saved(this.params.read());
      if (trimmed) this.act.refreshHistory(); // the marks follow the new window
    } catch (err) {
      this.#failed(err);
    }
    this.act.showContext();
  }

  /** A conversation's saved settings drive the toolbar and the parameters panel. */
  apply(saved, conversation) {
    this.settings.apply(saved, conversation);
    this.toolbar.showEndpoint(this.settings.endpoint);
    this.params.fill(this.settings.saved);
    this.act.useSavedModel(this.settings.saved.model);
  }

  // -- the system prompt ---------------------------------------------------------

  systemEdited() {
    this.system.edited();
    this.systemBox.showStatus("Not saved");
  }

  /** Leaving the conversation on screen: unsaved text is kept for coming back. */
  leaveSystem() {
    this.system.leave(this.conversation.current, this.systemBox.text);
  }

  /** The history's system prompt, unless the box holds text typed here. */
  showSystem(history) {
    const system = this.system;
    if (history.conversation === null && system.kept) { // saved in this new chat
      history = { ...history, system: system.kept };
    }
    if (!system.dirty) {
      const draft = system.resumeDraft(this.conversation.current);
      if (draft !== undefined) this.systemBox.showText(draft, "Not saved (your draft)");
      else this.systemBox.showText(history.system || "");
    }
    this.systemBox.showSet(Boolean(history.system));
  }

  async saveSystem() {
    const box = this.systemBox;
    const { conversation } = this;
    if (conversation.draft && !conversation.current) { // kept for the first message
      this.system.keep(box.text.trim());
      box.showStatus(box.text.trim() ? "Kept: saved with the first message" : "Removed ✓");
      box.showSet(Boolean(box.text.trim()));
      return;
    }
    if (!this.connection.send({ type: "system", text: box.text,
      conversation: conversation.current })) {
      box.showStatus("Not connected: not saved");
      return;
    }
    box.showStatus("Saving…");
  }

  /** Pushed frames about settings. */
  frames = {
    system_set: (frame) => {
      const here = frame.conversation === this.conversation.current;
      this.system.saved(frame.conversation, here);
      if (!here) return;
      this.systemBox.showText(frame.text, frame.text ? "Saved ✓" : "Removed ✓");
      this.systemBox.showSet(Boolean(frame.text));
    },
  };
}
