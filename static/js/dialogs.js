// Dialogs (<dialog>: Esc closes, focus is trapped) and the undo toast, drawn: the
// inspector, help, a confirmation, a model's details.

const $ = (id) => document.getElementById(id);

/** The request and stats of one reply, and why each message of the conversation is or
 * is not in the next request's window. */
export function showInspector(message, messages = []) {
  $("inspector-request").textContent = JSON.stringify(message.request ?? null, null, 2);
  $("inspector-stats").textContent = JSON.stringify(message.stats ?? null, null, 2);
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
      why.textContent = m.window_reason;
      item.append(who, why);
      return item;
    }));
  $("inspector").showModal();
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
