// Dialogs (<dialog>: Esc closes, focus is trapped) and the undo toast, drawn: the
// inspector, help, a confirmation, a model's details.

const $ = (id) => document.getElementById(id);

/** The request and stats of one reply, and why each message of the conversation is or
 * is not in the next request's window. */
export function showInspector(message, messages = []) {
  $("inspector-request").textContent = JSON.stringify(message.request ?? null, null, 2);
  $("inspector-stats").textContent = JSON.stringify(message.stats ?? null, null, 2);
  $("inspector-context").textContent = contextSummary(message.stats, messages);
  $("inspector-window").replaceChildren(...messages.filter((m) => m.window_reason)
    .map((m) => {
      const item = document.createElement("li");
      item.className = m.in_context ? "window-sent" : "window-unsent";
      const who = document.createElement("span");
      who.className = "window-who";
      const text = (m.content || "").replace(/\s+/g, " ");
      who.textContent = `${m.role === "user" ? "You" : "Assistant"}: `
        + `${text.length > 48 ? `${text.slice(0, 48)}…` : text}`;
      const why = document.createElement("span");
      why.className = "window-why";
      why.textContent = m.window_reason + tokenNote(m);
      item.append(who, why);
      return item;
    }));
  $("inspector").showModal();
}

/** " · 42 tokens" (counted by Ollama) or " · about 42 tokens" (estimated). */
function tokenNote(m) {
  if (!m.in_context || typeof m.tokens !== "number") return "";
  return ` · ${m.tokens_measured ? "" : "about "}${m.tokens.toLocaleString("en")} tokens`;
}

/** What this reply's request held against the context, and what Ollama read of it. */
function contextSummary(stats, messages) {
  const context = stats?.context;
  if (!context || typeof context.limit !== "number") return "";
  const limit = `${context.limit.toLocaleString("en")} tokens (${context.source})`;
  const parts = [`Context: ${limit}, ${context.reserve.toLocaleString("en")} kept for the reply.`];
  if (typeof context.sent_tokens === "number") {
    parts.push(`This request: ${context.measured ? "" : "about "}`
      + `${context.sent_tokens.toLocaleString("en")} tokens as counted before sending`
      + (context.left_out ? `, ${context.left_out} older messages left out to fit.` : "."));
  }
  if (typeof stats.prompt_eval_count === "number") {
    parts.push(`Ollama read ${stats.prompt_eval_count.toLocaleString("en")} tokens, all of it `
      + `(sent with "truncate": false, so Ollama never cuts a prompt).`);
  }
  if (context.retried) parts.push(context.retried);
  const next = messages.filter((m) => m.in_context && typeof m.tokens === "number");
  if (next.length) {
    const total = next.reduce((sum, m) => sum + m.tokens, 0);
    const exact = next.every((m) => m.tokens_measured);
    parts.push(`The next request: ${next.length} messages, ${exact ? "" : "about "}`
      + `${total.toLocaleString("en")} tokens besides the system prompt.`);
  }
  return parts.join(" ");
}

export function showHelp() {
  const dialog = $("help-dialog");
  if (dialog.open) dialog.close();
  else dialog.showModal();
}

/** Ask before something that cannot be undone; resolves true when confirmed. */
export function confirmAction(text, okLabel = "Delete") {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

function fact(list, name, value) {
  if (value === undefined || value === null || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  list.append(dt, dd);
}

/** @param {object} info /api/show as the server describes it */
export function showModelDetails(info, onDelete) {
  $("model-dialog-title").textContent = info.model;
  const list = $("model-facts");
  list.replaceChildren();
  fact(list, "Family", info.family);
  fact(list, "Parameters", info.parameter_size);
  fact(list, "Quantization", info.quantization_level);
  fact(list, "Context length", info.context_length?.toLocaleString?.() ?? info.context_length);
  fact(list, "Capabilities", (info.capabilities || []).join(", "));
  fact(list, "Format", info.format);
  fact(list, "Modified", info.modified_at ? new Date(info.modified_at).toLocaleString() : "");
  const button = $("model-delete");
  const fresh = button.cloneNode(true); // forget the previous model's handler
  button.replaceWith(fresh);
  fresh.addEventListener("click", () => onDelete(info.model));
  $("model-dialog").showModal();
}

export function closeModelDetails() {
  $("model-dialog").close();
}

let toastTimer = 0;

/** A short message with one action (Undo); gone after `ms`. */
export function toast(text, actionLabel, onAction, ms = 8000) {
  const box = $("toast");
  const action = $("toast-action");
  $("toast-text").textContent = text;
  const fresh = action.cloneNode(false);
  fresh.textContent = actionLabel || "";
  fresh.hidden = !actionLabel;
  action.replaceWith(fresh);
  fresh.addEventListener("click", () => {
    box.hidden = true;
    onAction?.();
  });
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, ms);
}
