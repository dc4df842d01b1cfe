// The reply in progress: what the page sends (chat, retry, edit, regenerate, stop) and
// the frames that come back. Frames of a reply carry the id of the conversation they
// belong to, so a reply keeps streaming (into `state.running`) while another
// conversation is on screen, and is shown live again on coming back to it.

import * as api from "./api.js";
import { announce, setServerDown, updateControls } from "./chrome.js";
import { renderContext } from "./contextmeter.js";
import { loadedFrames, refreshLoaded } from "./loaded.js";
import { refreshModels } from "./models.js";
import { adopt, refreshConversations, refreshHistory } from "./navigation.js";
import { composer, sidebar, socket, view } from "./parts.js";
import { pullFrames, pullRefused } from "./pulls.js";
import { chatFields, saveSettings, settingsFrames, showFieldError } from "./settings.js";
import { els, replyingHere, state } from "./store.js";

export function sendChat(text, images = []) {
  const fields = chatFields();
  const ids = images.map((image) => image.id);
  const frame = { type: "chat", text, ...fields };
  if (ids.length) frame.images = ids;
  if (!socket.send(frame)) return false;
  state.pending = { kind: "chat", text, model: fields.model, conversation: state.current,
    images: ids };
  return true;
}

export function retry(id) {
  const fields = chatFields();
  if (socket.send({ type: "retry", id, ...fields })) {
    state.pending = { kind: "retry", id, model: fields.model, conversation: state.current };
  }
}

export function regenerate() {
  const fields = chatFields();
  if (socket.send({ type: "regenerate", ...fields })) {
    state.pending = { kind: "regenerate", model: fields.model, conversation: state.current };
  }
}

export function editMessage(id, text) {
  const fields = chatFields();
  if (!socket.send({ type: "edit", id, text, ...fields })) return false;
  state.pending = { kind: "edit", id, text, model: fields.model, conversation: state.current };
  return true;
}

export function deleteLast() {
  socket.send({ type: "delete_last", conversation: state.current });
}

/** Stop belongs to the conversation that is replying: the frame names it, and the
 * server stops nothing when the reply runs elsewhere. */
export function stop() {
  socket.send({ type: "stop", conversation: state.current });
}

function refusePending() {
  if (state.pending?.kind === "chat" && state.pending.conversation === state.current) {
    composer.restore(state.pending.text);
  }
  state.pending = null;
}

/** The sidebar says at once that the reply's model is loading, if it is not in memory. */
function replyBegan(model, waiting) {
  sidebar.setReply(model, waiting && !state.loaded.some((m) => m.name === model));
}

/** The finished reply, as shown (markdown rendered), read out once. */
function announceReply() {
  const shown = [...els.messages.querySelectorAll(".message.assistant .message-content")].pop();
  const text = (shown?.textContent || state.running?.text || "").trim();
  if (text) announce(`Reply: ${text}`);
}

function replyEnded(conversation) {
  state.running = null;
  sidebar.setReply("", false);
  updateControls();
  if (conversation === state.current) refreshHistory();
  refreshConversations();
}

/** Another tab of this browser (or this tab before a reload) runs a reply: follow it. */
function follow(frame, text = "", thinking = "", notice = "") {
  state.running = { conversation: frame.conversation, model: frame.model || state.model,
    text, thinking, notice };
  replyBegan(state.running.model, !text && !thinking);
  state.replySeq += 1;
  state.remoteGenerating = false;
  if (frame.conversation === state.current) refreshHistory(); // its question, then live
  updateControls();
  refreshConversations();
}

const frameHandlers = {
  resume(frame) {
    follow(frame, frame.text || "", frame.thinking || "", frame.notice || "");
  },
  wait(frame) { // why the reply is slow to start: said where it will appear
    if (replyingHere()) view.setWaiting(frame.clear ? "" : frame.message || "");
  },
  notice(frame) {
    if (!state.running) return;
    state.running.notice = frame.clear ? "" : frame.message || "";
    updateControls();
  },
  start(frame) {
    const pending = state.pending;
    if (pending?.conversation === null && typeof frame.conversation === "number") {
      // Sent from a chat not stored yet: the server made (or picked) its conversation.
      pending.conversation = frame.conversation;
      if (state.draft && !state.current) { // still on screen: it is that one now,
        adopt(frame.conversation); // keeping the model and mode it was started with
        saveSettings({ model: state.model || null, endpoint: state.endpoint,
          think: state.think });
      }
    }
    if (!pending || (frame.conversation !== undefined
        && pending.conversation !== frame.conversation)) {
      follow(frame); // not ours: another tab's
      return;
    }
    state.pending = null;
    const conversation = frame.conversation ?? pending?.conversation ?? state.current;
    const model = pending?.model ?? state.model;
    state.running = { conversation, model, text: "", thinking: "", notice: "" };
    replyBegan(model, true);
    announce(""); // the next announcement is this reply's, read once at its end
    state.replySeq += 1;
    state.remoteGenerating = false;
    if (conversation === state.current) {
      if (pending?.kind === "retry") view.markRetrying(pending.id);
      else if (pending?.kind === "edit") {
        view.replaceWithVersion(pending.id, frame.message_id, pending.text);
      } else if (pending?.kind === "regenerate") {
        view.truncateAfter(frame.message_id);
        view.markRetrying(frame.message_id);
      } else view.addUserMessage(frame.message_id, pending?.text ?? "", pending?.images || []);
      view.startReply(model, sidebar.loading ? `loading ${model}…` : "");
    }
    updateControls();
    refreshConversations();
  },
  chunk(frame) {
    if (!state.running) return;
    if (!state.running.text && sidebar.loading) { // loaded now: show it as Ollama lists it
      sidebar.setReply(state.running.model, false);
      refreshLoaded();
    }
    state.running.text += frame.text;
    if (replyingHere()) view.appendChunk(frame.text);
  },
  thinking(frame) {
    if (!state.running) return;
    state.running.thinking += frame.text;
    if (replyingHere()) view.appendThinking(frame.text);
  },
  done(frame) {
    const conversation = state.running?.conversation ?? frame.conversation;
    if (replyingHere()) {
      view.endReply(frame.stats || {}, null);
      announceReply();
    }
    // A stopped reply has no prompt count: the meter keeps the last one known.
    if (frame.stats?.prompt_eval_count !== undefined && conversation === state.current) {
      state.lastStats = frame.stats;
      renderContext();
    }
    replyEnded(conversation);
  },
  error(frame) {
    const message = frame.message || "Something went wrong.";
    if (frame.code === "busy") {
      refusePending();
      view.addNote(message, "error");
      if (!state.running) refreshHistory(); // another tab's reply: show it and its Stop
      return;
    }
    // A reply's own failure carries `partial`; a failed command (/models) does not.
    if ((frame.code === "ollama" || frame.code === "interrupted") && state.running
        && typeof frame.partial === "boolean") {
      const conversation = state.running.conversation;
      if (replyingHere()) {
        view.endReply(null, message);
        view.addNote(message, "error", true);
      }
      replyEnded(conversation);
      return;
    }
    if (frame.pull) { // a download refused: said by the Pull field, not in the chat
      pullRefused(frame);
      return;
    }
    refusePending();
    if (frame.code === "invalid" && showFieldError(frame)) return;
    view.addNote(message, "error");
    if (frame.code === "no_session") {
      // Any /api request hands out the cookie; the socket then reconnects with it.
      api.getHistory().catch(() => {});
      return;
    }
    if (frame.code === "not_found") refreshConversations();
    refreshHistory();
  },
  cleared(frame) {
    state.pending = null;
    if (frame.conversation !== undefined && frame.conversation !== state.current) return;
    view.clear();
    refreshHistory();
    refreshConversations();
  },
  deleted(frame) {
    if (frame.conversation === state.current) refreshHistory();
    refreshConversations();
  },
  info(frame) {
    state.pending = null;
    view.addNote(frame.text || "", "info");
    if (frame.command === "models" && Array.isArray(frame.models)) {
      state.loaded = frame.models;
      sidebar.renderLoaded(state.loaded, [], state.hosts);
    }
    if (frame.command === "exit" || frame.command === "unload") refreshLoaded();
  },
};

/** Every frame from the socket goes to the handler of the module that owns its state. */
export function onFrame(frame) {
  (frameHandlers[frame.type] ?? settingsFrames[frame.type] ?? loadedFrames[frame.type]
    ?? pullFrames[frame.type])?.(frame);
}

export function onOpen() {
  state.connected = true;
  // Loaded models, downloads and every reply of this browser are pushed from now on; a
  // reply still running (this tab reloaded, or another tab's) comes back as `resume`.
  socket.send({ type: "watch", replies: true });
  if (state.lostNote) view.removeNote(state.lostNote);
  state.lostNote = null;
  updateControls();
  const wasDown = state.serverDown; // the page came from the service worker's copy
  setServerDown(false);
  if (wasDown) refreshModels();
  if (state.everConnected || wasDown) {
    // What happened while we were away (a reply cut short, another tab's messages).
    refreshHistory();
    refreshConversations();
  }
  state.everConnected = true;
}

export function onClose() {
  const wasConnected = state.connected;
  state.connected = false;
  refusePending();
  if (state.running) {
    // The server keeps the reply going (--reply-grace); reconnected, it is resumed.
    if (replyingHere()) view.pauseReply();
    state.running = null;
    sidebar.setReply("", false);
  }
  if (wasConnected && !state.lostNote) {
    state.lostNote = view.addNote("Lost the connection to the server; reconnecting…", "error");
  }
  updateControls();
}
