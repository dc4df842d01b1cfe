// The current conversation's saved settings (model, endpoint, think, options, keep_alive,
// trim), which conversation they came from (never saved into another), and the endpoint
// and think choices the toolbar shows.

export class Settings {
  #saved = {};
  #savedFor = null; // the conversation `saved` came from
  #endpoint = "chat";
  #think = false;

  get saved() {
    return this.#saved;
  }

  get savedFor() {
    return this.#savedFor;
  }

  get endpoint() {
    return this.#endpoint;
  }

  get think() {
    return this.#think;
  }

  /** A conversation's saved settings drive the toolbar. */
  apply(settings, conversation) {
    this.#saved = settings || {};
    this.#savedFor = conversation;
    this.#endpoint = this.#saved.endpoint === "generate" ? "generate" : "chat";
    const think = this.#saved.think; // on, off, or a level (low, medium, high)
    this.#think = typeof think === "string" ? think : Boolean(think);
  }

  /** Another conversation opens: until its history comes, nothing is saved into it. */
  forget() {
    this.#savedFor = null;
  }

  /** The conversation the server made for this screen's chat: the fields are its. */
  adopt(conversation) {
    this.#savedFor = conversation;
  }

  /** What the server stored (or, for a chat not stored yet, what the page keeps). */
  stored(settings) {
    this.#saved = settings || this.#saved;
  }

  chooseEndpoint(endpoint) {
    this.#endpoint = endpoint === "generate" ? "generate" : "chat";
  }

  /** @param {boolean|string} on on, off, or a level ("low", "medium", "high") */
  chooseThink(on) {
    this.#think = typeof on === "string" ? on : Boolean(on);
  }
}
