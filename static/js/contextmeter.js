// The sidebar's context meter: the prompt of the last reply against the
// context the model runs with: as the server found it for that reply (its stats'
// `context`: num_ctx, as loaded, the model's num_ctx or Ollama's default), else
// num_ctx, as loaded, as loaded last, or its maximum.

import { params } from "./parts.js";
import { els, readStored, state, writeStored } from "./store.js";

function contextLength() {
  const numCtx = params.read().options.num_ctx;
  if (numCtx) return { size: numCtx, source: "num_ctx in the parameters" };
  const loaded = state.loaded.find((m) => m.name === state.model);
  const remembered = `webchat.context.${state.model}`;
  if (loaded?.context_length) {
    if (state.loadedContext.get(state.model) !== loaded.context_length) {
      state.loadedContext.set(state.model, loaded.context_length);
      writeStored(remembered, String(loaded.context_length)); // kept across reloads
    }
    return { size: loaded.context_length, source: "as loaded" };
  }
  // Unloaded since: the context it ran with, not a jump to the model's maximum.
  const before = state.loadedContext.get(state.model) || Number(readStored(remembered));
  if (before) return { size: before, source: "as it was loaded last" };
  const info = state.info.get(state.model);
  if (info?.context_length) return { size: info.context_length, source: "the model's maximum" };
  return null;
}

/** The context the server counted the last request against (webchat/context_guard.py). */
function countedContext(stats) {
  const context = stats?.context;
  if (!context || typeof context.limit !== "number") return null;
  return { size: context.limit, source: context.source, reserve: context.reserve };
}

export function renderContext() {
  const used = state.lastStats?.prompt_eval_count;
  const ctx = countedContext(state.lastStats) || contextLength();
  if (typeof used !== "number" || !ctx) {
    els.contextBox.hidden = true;
    return;
  }
  els.contextBox.hidden = false;
  const share = Math.min(1, used / ctx.size);
  els.contextMeter.value = share;
  const text = `${used.toLocaleString("en")} / ${ctx.size.toLocaleString("en")} tokens `
    + `(${Math.round(share * 100)}%)`;
  els.contextText.textContent = text;
  const sent = state.messages.filter((m) => m.in_context).length;
  const trim = state.settings.trim === "sliding" ? "sliding" : "in steps";
  const reserve = typeof ctx.reserve === "number"
    ? ` ${ctx.reserve.toLocaleString("en")} tokens are kept for the reply.` : "";
  els.contextMeter.title = `Ollama read ${used.toLocaleString("en")} tokens of the last `
    + `prompt; the context is ${ctx.size.toLocaleString("en")} (${ctx.source}).${reserve} `
    + `The next message is sent with ${sent} of ${state.messages.length} messages `
    + `(trim: ${trim}).`;
  els.contextBox.classList.toggle("context-full", share >= 0.85);
}
