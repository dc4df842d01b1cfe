// The page's chrome: the connection badge and the controls it enables, the "Ollama is
// unreachable" banner, the conversation error line, and the sidebar drawer.

import { refreshModels } from "./models.js";
import { composer } from "./parts.js";
import { $, els, replyingHere, state } from "./store.js";

const NARROW = window.matchMedia("(max-width: 760px)");
const ANNOUNCE_MAX = 2000; // characters of a reply read out; the rest is on the page

export function updateControls() {
  const here = replyingHere() || state.remoteGenerating;
  // One reply per browser: elsewhere, Send waits and the page says where it runs.
  const elsewhere = Boolean(state.running) && !replyingHere();
  composer.update({ connected: state.connected, replying: here, blocked: elsewhere });
  els.messages.classList.toggle("replying", here);
  els.systemSave.disabled = !state.connected;
  els.connection.dataset.state = state.connected ? "connected" : "reconnecting";
  els.connection.textContent = state.connected ? "Connected" : "Reconnecting…";
  renderReplyStatus(elsewhere);
}

/** Above the input: where this browser's reply runs (with Go there), or that Ollama is
 * quiet right now. */
function renderReplyStatus(elsewhere) {
  let text = "";
  if (elsewhere) {
    const item = state.conversations.find((c) => c.id === state.running.conversation);
    text = `A reply is being written in “${item?.title || "another conversation"}”. `
      + "One reply runs at a time.";
  } else if (replyingHere() && state.running.notice) {
    text = state.running.notice;
  }
  els.replyStatus.hidden = !text;
  els.replyStatus.classList.toggle("notice", Boolean(text) && !elsewhere);
  els.replyStatusText.textContent = text;
  els.replyGo.hidden = !elsewhere;
}

export function setOllamaDown(message) {
  const wasDown = Boolean(state.ollamaDown);
  state.ollamaDown = message || "";
  els.banner.hidden = !message;
  els.banner.textContent = message ? `Ollama is unreachable: ${message}` : "";
  if (wasDown && !message && (!state.models.length || state.modelsError)) refreshModels();
}

/** Any answer from the server clears it; no answer at all (a reload served by the
 * service worker while the server is down, a lost network) shows it. */
export function setServerDown(down) {
  state.serverDown = down;
  els.serverBanner.hidden = !down;
}

export function showConversationError(message) {
  els.conversationError.textContent = message || "";
  els.conversationError.hidden = !message;
}

export function toggleSidebar() {
  if (NARROW.matches) {
    const open = !document.body.classList.contains("sidebar-open");
    document.body.classList.toggle("sidebar-open", open);
    $("sidebar-backdrop").hidden = !open;
    if (open) $("sidebar").querySelector("button")?.focus();
  } else {
    document.body.classList.toggle("sidebar-hidden");
  }
}

/** Show the sidebar (the drawer on a phone) if it is not showing. */
export function openSidebar() {
  const open = NARROW.matches ? document.body.classList.contains("sidebar-open")
    : !document.body.classList.contains("sidebar-hidden");
  if (!open) toggleSidebar();
}

/** On a phone the open drawer keeps Tab inside it, as a dialog does. */
export function trapDrawerFocus(event) {
  if (event.key !== "Tab" || !NARROW.matches
      || !document.body.classList.contains("sidebar-open")) return;
  const drawer = $("sidebar");
  const focusable = [...drawer.querySelectorAll(
    "button, input, select, textarea, a[href], summary, [tabindex]:not([tabindex='-1'])")]
    .filter((node) => !node.disabled && node.getClientRects().length);
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  const inside = drawer.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
}

export function closeSidebarOnPhone() {
  if (NARROW.matches && document.body.classList.contains("sidebar-open")) toggleSidebar();
}

/** Tell screen readers once, politely (a finished reply; never each streamed token). */
export function announce(text) {
  els.announcer.textContent = text.length > ANNOUNCE_MAX
    ? `${text.slice(0, ANNOUNCE_MAX)}…` : text;
}

/** The inspector's Copy buttons (one listener for every dialog). */
export function copyFromDialog(event) {
  const button = event.target.closest?.("dialog .code-copy[data-copy]");
  if (!button) return;
  import("./clipboard.js").then(({ copyText }) =>
    copyText($(button.dataset.copy).textContent)).then((ok) => {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
}
