// The conversation on screen: its id (remembered across reloads), whether it is a chat
// not stored yet, its messages as last fetched, the stats of its newest reply (for the
// context meter), whether the server runs a reply in it that this page does not stream,
// and what to do once it is drawn (scroll to a search hit, load its model).

import { KEYS } from "./store.js";

export class OpenConversation {
  #current;
  #draft = false; // /api/history said `conversation: null`: an empty chat, stored once used
  #messages = [];
  #lastStats = null;
  #remoteGenerating = false;
  #reveal = null; // message id to scroll to once its conversation is drawn (a search hit)
  #preloadOnOpen = true; // load the model of the conversation being opened (at start too)
  #fresh = null; // "New chat": the settings it starts with; no row until its first message
  #gone = false; // deleted in another tab while on screen here

  /** @param {import("./store.js").Store} store */
  constructor(store) {
    this.store = store;
    this.#current = Number(store.read(KEYS.conversation)) || null;
  }

  get current() {
    return this.#current;
  }

  get draft() {
    return this.#draft;
  }

  get messages() {
    return this.#messages;
  }

  get lastStats() {
    return this.#lastStats;
  }

  /** A new chat (not stored until its first message): the settings it starts with. */
  get fresh() {
    return this.#fresh;
  }

  get gone() {
    return this.#gone;
  }

  get remoteGenerating() {
    return this.#remoteGenerating;
  }

  #setCurrent(id) {
    this.#current = id;
    this.store.write(KEYS.conversation, id ? String(id) : "");
  }

  /** Another conversation goes on screen; until its history comes, nothing is known. */
  open(id, preload = true) {
    this.close();
    this.#setCurrent(id);
    this.#preloadOnOpen = preload; // its model is loaded if it is not
  }

  /** None on screen: the server's newest one, or else an empty chat. */
  close() {
    this.#setCurrent(null);
    this.#remoteGenerating = false;
    this.#lastStats = null;
    this.#messages = [];
    this.#fresh = null;
    this.#gone = false;
  }

  /** "New chat": an empty one with `settings`, stored by its first message. */
  startNew(settings) {
    this.close();
    this.#fresh = settings;
    this.#draft = true;
  }

  /** Another tab deleted it: it stays on screen, said so, until restored or left. */
  goneElsewhere() {
    this.#gone = true;
  }

  /** Restored: it is stored again. */
  back() {
    this.#gone = false;
  }

  /** The conversation the server made for this screen's chat is the one on screen. */
  adopt(id) {
    this.#setCurrent(id);
    this.#draft = false;
    this.#fresh = null;
  }

  /** Its history arrived; true when the server showed another one than asked (the
   * newest, when none was asked or the asked one is gone).
   * @param {boolean} replyingHere this page streams the reply running there */
  shown(history, replyingHere) {
    this.#draft = history.conversation === null;
    const moved = this.#current !== history.conversation;
    if (moved) this.#setCurrent(history.conversation);
    this.#messages = history.messages || [];
    const replies = this.#messages.filter((m) => m.role === "assistant"
      && typeof m.stats?.prompt_eval_count === "number");
    this.#lastStats = replies.length ? replies[replies.length - 1].stats : null;
    this.#remoteGenerating = Boolean(history.generating) && !replyingHere;
    return moved;
  }

  /** A reply here ended with a prompt count: the meter shows it. */
  replied(stats) {
    this.#lastStats = stats;
  }

  /** This page streams the reply now: the server's is not someone else's. */
  streaming() {
    this.#remoteGenerating = false;
  }

  /** Scroll to message `id` once the conversation is drawn. */
  revealLater(id) {
    this.#reveal = id;
  }

  /** The message to scroll to now (once). */
  takeReveal() {
    const id = this.#reveal;
    this.#reveal = null;
    return id;
  }

  /** True once after opening: the opened conversation's model is to be loaded. */
  takePreload() {
    const wanted = this.#preloadOnOpen;
    this.#preloadOnOpen = false;
    return wanted;
  }
}
