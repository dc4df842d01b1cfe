// Where things stand, told to the page: which controls work now (Send or Stop, Save),
// the line above the input (where this browser's reply runs), the connection badge, the
// banners, and the context meter. It reads the models and draws through the views.

export class Status {
  /**
   * @param {object} parts the models it reads (`connection`, `reply`, `conversation`,
   *   `conversations`, `reachability`, `installed`, `loaded`, `settings`) and the views it
   *   draws on (`chrome`, `composer`, `view`, `systemBox`, `contextMeter`, `params`)
   */
  constructor(parts) {
    Object.assign(this, parts);
  }

  update() {
    const { connection, reply, conversation } = this;
    const replyingHere = reply.runsIn(conversation.current);
    const here = replyingHere || conversation.remoteGenerating;
    // One reply per browser: elsewhere, Send waits and the page says where it runs.
    const elsewhere = Boolean(reply.running) && !replyingHere;
    this.composer.update({ connected: connection.connected, replying: here, blocked: elsewhere,
      ollamaDown: Boolean(this.reachability.ollamaDown) });
    this.view.setReplying(here);
    this.systemBox.enableSave(connection.connected);
    this.chrome.showConnected(connection.connected, Boolean(this.reachability.ollamaDown));
    let text = "";
    if (elsewhere) {
      const item = this.conversations.find(reply.running.conversation);
      text = `A reply is being written in “${item?.title || "another conversation"}”. `
        + "One reply runs at a time.";
    } else if (replyingHere && reply.running.notice) {
      text = reply.running.notice;
    }
    this.chrome.showReplyStatus(text, elsewhere);
  }

  showReachability() {
    this.chrome.showReachability(this.reachability);
    this.update(); // the badge and Send say it too
  }

  /** The context the model runs with: num_ctx in the parameters, as loaded, as loaded
   * last, or its maximum. */
  #contextLength() {
    const numCtx = this.params.read().options.num_ctx;
    if (numCtx) return { size: numCtx, source: "num_ctx in the parameters" };
    const model = this.installed.model;
    const known = this.loaded.contextOf(model);
    if (known) return known;
    const info = this.installed.infoOf(model);
    if (info?.context_length) return { size: info.context_length, source: "the model's maximum" };
    return null;
  }

  /** The context the server counted the last request against (relay/context_guard.py):
   * num_ctx, as loaded, the model's num_ctx or Ollama's default, with the reply's share. */
  static #countedContext(stats) {
    const context = stats?.context;
    if (!context || typeof context.limit !== "number") return null;
    return { size: context.limit, source: context.source, reserve: context.reserve };
  }

  /** The prompt of the last reply against the context the model runs with. */
  showContext() {
    const stats = this.conversation.lastStats;
    const used = stats?.prompt_eval_count;
    const ctx = Status.#countedContext(stats) || this.#contextLength();
    if (typeof used !== "number" || !ctx) {
      this.contextMeter.show(null);
      return;
    }
    const messages = this.conversation.messages;
    this.contextMeter.show({ used, size: ctx.size, source: ctx.source, reserve: ctx.reserve,
      sent: messages.filter((m) => m.in_context).length, total: messages.length,
      trim: this.settings.saved.trim === "sliding" ? "sliding" : "in steps" });
  }
}
