// The conversation on screen as the server has it (GET /api/history), drawn. A fetch is
// dropped when a newer one was asked or a reply started meanwhile; what arrives is told
// to each owner in turn: the conversation model, the pane, the toolbar, the system
// prompt, the settings, the model to load, the context meter, the controls.

import * as api from "./api.js";
import { showInspector, toast } from "./dialogs.js";

const GONE = Symbol("gone");
const REMOTE_POLL_MS = 2000; // a reply the server runs here that this page does not stream

export class History {
  #asked = 0; // bumped at every fetch: an older answer must not draw over a newer one
  #pollTimer = 0;

  /**
   * @param {object} parts `conversation` (the model it fills), `reply`, the views `view`
   *   and `toolbar`, and `act`: listChanged (the conversation on screen moved),
   *   showSystem, applySettings, preloadModel, showContext, updateControls
   */
  constructor({ conversation, reply, view, toolbar, act }) {
    Object.assign(this, { conversation, reply, view, toolbar, act });
  }

  async refresh() {
    const history = await this.#fetch();
    if (history === GONE) return this.refresh();
    if (!history) return undefined;
    this.#remember(history);
    this.#draw(history);
    this.showExport();
    this.act.showSystem(history);
    this.act.applySettings(history.settings, history.conversation);
    if (this.conversation.takePreload() && history.conversation !== null) {
      this.act.preloadModel(); // an empty chat waits for a pick
    }
    this.act.showContext();
    this.#watchRemote();
    this.act.updateControls();
    return undefined;
  }

  /** The history; GONE when the conversation asked for was deleted elsewhere; null when
   * it failed or a newer fetch or a reply owns the pane. */
  async #fetch() {
    const seq = this.reply.seq;
    const ask = ++this.#asked;
    const fresh = this.conversation.fresh;
    if (fresh) { // a new chat: nothing stored to fetch
      return { conversation: null, title: "", system: null, settings: fresh, messages: [],
        generating: false };
    }
    try {
      const history = await api.getHistory(this.conversation.current);
      if (ask !== this.#asked || seq !== this.reply.seq) return null;
      return history;
    } catch (err) {
      if (err.status === 404) { // deleted elsewhere: show the newest one instead
        this.conversation.close();
        return GONE;
      } else if (err.status !== 0) {
        this.view.addNote(`Could not load the conversation: ${err.message}`, "error");
      }
      return null;
    }
  }

  #remember(history) {
    const moved = this.conversation.shown(history, Boolean(this.reply.running));
    if (moved) this.act.listChanged();
    this.toolbar.showTitle(history.title);
  }

  /** The history (a reply that just ended here settles in place), then a reply
   * streaming here live at its end. */
  #draw(history) {
    const reveal = this.conversation.takeReveal();
    if (reveal !== null || !this.view.settle(history)) this.view.render(history, reveal);
    const running = this.reply.running;
    if (this.reply.runsIn(this.conversation.current)) {
      this.view.resumeReply(running.model, running.text, running.thinking,
        running.waiting || "");
    }
  }

  /** No session yet (the socket said so): any /api request hands out the cookie, and
   * the socket then reconnects with it. */
  touchSession() {
    api.getHistory().catch(() => {});
  }

  showExport() {
    const id = this.conversation.current;
    this.toolbar.showExport(id ? { md: api.exportUrl(id, "md"), json: api.exportUrl(id, "json") }
      : null);
  }

  /** Another tab's reply the server runs here: look again until it ends. */
  #watchRemote() {
    if (!this.conversation.remoteGenerating || this.#pollTimer) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = 0;
      this.refresh();
    }, REMOTE_POLL_MS);
  }

  /** The history leaves out each reply's request (it repeats the whole context window);
   * the inspector fetches it on demand. */
  async inspect(message) {
    const messages = this.conversation.messages;
    if (message.request) {
      showInspector(message, messages);
      return;
    }
    try {
      showInspector(await api.getMessage(this.conversation.current, message.id), messages);
    } catch (err) {
      toast(`Could not load the request: ${err.message}`);
    }
  }
}
