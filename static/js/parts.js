// The page's views and its socket, each built once and handed the callbacks of the
// module that owns the state they change. Controllers import them from here.

import { switchVersion } from "./branches.js";
import { ChatView } from "./chat.js";
import { Composer } from "./composer.js";
import { ConversationList } from "./conversations.js";
import { ParamsPanel } from "./params.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";
import { $, els } from "./store.js";
import {
  deleteConversation, inspect, openConversation, renameConversation,
} from "./navigation.js";
import { unload } from "./loaded.js";
import { openModelDetails, pickModel } from "./models.js";
import {
  deleteLast, editMessage, onClose, onFrame, onOpen, regenerate, retry, sendChat, stop,
} from "./reply.js";
import { openHit, onQuery } from "./search.js";
import { SearchBox } from "./searchbox.js";
import { saveSettings } from "./settings.js";

export const view = new ChatView(els.messages, {
  onRetry: retry, onEdit: editMessage, onRegenerate: regenerate, onDeleteLast: deleteLast,
  onInspect: inspect, onVersion: switchVersion,
}, $("jump-latest"));
export const sidebar = new Sidebar(
  { installed: $("installed-models"), loaded: $("loaded-models"),
    loadedError: $("loaded-error"), select: els.modelSelect, unloadAll: $("unload-all"),
    pulls: $("pulls") },
  { onUnload: unload, onPick: pickModel, onDetails: openModelDetails,
    onCancelPull: (name, host) => socket.send(host ? { type: "pull_cancel", model: name, host }
      : { type: "pull_cancel", model: name }) });
export const composer = new Composer(
  { form: $("composer"), input: $("prompt"), send: $("send"), stop: $("stop"),
    attach: $("attach"), attachFile: $("attach-file"), attachments: $("attachments"),
    attachError: $("attach-error"), attachReason: $("attach-reason") },
  { onSend: sendChat, onStop: stop });
export const conversations = new ConversationList($("conversation-list"), {
  onOpen: openConversation, onRename: renameConversation, onDelete: deleteConversation,
});
export const params = new ParamsPanel(
  { form: $("params-form"), reset: $("params-reset"), status: $("params-status"),
    badge: $("params-badge") },
  { onChange: (part) => saveSettings(part) });
export const searchBox = new SearchBox(
  { input: $("search-input"), results: $("search-results"), status: $("search-status"),
    list: $("conversation-list") },
  { onQuery, onPick: openHit });
export const socket = new ChatSocket({ onFrame, onOpen, onClose });
