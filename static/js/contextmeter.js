// The sidebar's context meter: the prompt of the last reply against the
// context the model runs with (num_ctx, as loaded, as loaded last, or its maximum).

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

export function renderContext() {
  const used = state.lastStats?.prompt_eval_count;
  const ctx = contextLength();
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
  els.contextMeter.title = `Prompt of the last reply against the context (${ctx.source}). `
    + `The next message is sent with ${sent} of ${state.messages.length} messages `
    + `(trim: ${trim}).`;
  els.contextBox.classList.toggle("context-full", share >= 0.85);
}
