// Switching between versions of a message. The server remembers which version is in
// view (POST /api/conversations/ID/branch); the conversation is then drawn again from
// its history, and the keyboard stays on the switcher that was used.

import * as api from "./api.js";
import { refreshHistory } from "./navigation.js";
import { view } from "./parts.js";
import { els, state } from "./store.js";

export async function switchVersion(id, which) {
  const conversation = state.current;
  if (state.running?.conversation === conversation) {
    view.addNote("Wait for the reply to end (or stop it) before switching versions.", "error");
    return;
  }
  try {
    await api.switchBranch(conversation, id);
  } catch (err) {
    view.addNote(`Could not switch versions: ${err.message}`, "error");
    return;
  }
  await refreshHistory();
  if (state.current !== conversation) return;
  const group = els.messages.querySelector(`.message[data-id="${Number(id)}"] .versions`);
  const button = group?.querySelector(`.version-${which}:not(:disabled)`)
    || group?.querySelector(".version-button:not(:disabled)");
  button?.focus();
}

/** Make version `id` the one in view in `conversation` before it is opened (a search hit
 * in a version not shown). A message already in view changes nothing; while a reply runs
 * there, or on failure, the conversation simply opens as it is. */
export async function bringIntoView(conversation, id) {
  if (state.running?.conversation === conversation) return;
  try {
    await api.switchBranch(conversation, id);
  } catch {
    // opened as it is
  }
}
