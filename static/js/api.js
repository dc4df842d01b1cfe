// The JSON endpoints. Every failure becomes an ApiError whose message is the server's
// own `{"error": ...}` sentence, and whose status says who failed (0 = no answer at all).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  /** True when the server answered but Ollama behind it did not (502/503/504). */
  get ollamaDown() {
    return this.status === 502 || this.status === 503 || this.status === 504;
  }
}

function url(path) {
  // Relative to the page, so the app also works below a path prefix.
  return new URL(path, document.baseURI).toString();
}

let reachability = () => {};

/** Told after every request whether the server answered at all (true) or not (false). */
export function onReachability(listener) {
  reachability = listener;
}

async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(url(path), {
      credentials: "same-origin",
      ...init,
      headers: { Accept: "application/json", ...(init.headers || {}) },
    });
  } catch {
    reachability(false);
    throw new ApiError("The WebChat server does not answer.", 0);
  }
  reachability(true);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body.error === "string") {
    const error = new ApiError(body.error, response.status);
    error.field = body.field || null;
    error.fields = body.fields || null; // every bad field of a form: {field: message}
    throw error;
  }
  if (!response.ok) {
    throw new ApiError(`HTTP ${response.status} ${response.statusText}`.trim(), response.status);
  }
  if (body === null) {
    throw new ApiError("The server sent a reply that is not JSON.", response.status);
  }
  return body;
}

export function getModels() {
  return request("api/models");
}

export function getLoaded() {
  return request("api/loaded");
}

export function getMessage(conversation, id) {
  return request(`api/conversations/${encodeURIComponent(conversation)}/messages/${id}`);
}

export function getHistory(conversation) {
  const query = conversation ? `?conversation=${encodeURIComponent(conversation)}` : "";
  return request(`api/history${query}`);
}

function sendJson(path, method, body) {
  return request(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
}

export function listConversations() {
  return request("api/conversations");
}

export function createConversation(fields = {}) {
  return sendJson("api/conversations", "POST", fields);
}

export function updateConversation(id, fields) {
  return sendJson(`api/conversations/${id}`, "PATCH", fields);
}

/** A new chat's settings checked by the server, stored nowhere. */
export function checkSettings(settings) {
  return sendJson("api/settings/check", "POST", { settings });
}

export function deleteConversation(id) {
  return request(`api/conversations/${id}`, { method: "DELETE" });
}

export function restoreConversation(id) {
  return request(`api/conversations/${id}/restore`, { method: "POST" });
}

/** Show version `message` of its message; answers with the history now in view. */
export function switchBranch(conversation, message) {
  return sendJson(`api/conversations/${conversation}/branch`, "POST", { message });
}

export function exportUrl(id, format) {
  return url(`api/conversations/${id}/export?format=${format}`);
}

export function importConversation(text) {
  return request("api/conversations/import", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: text,
  });
}

export function uploadImage(file) {
  return request("api/uploads", {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
}

export function uploadUrl(id) {
  return url(`api/uploads/${encodeURIComponent(id)}`);
}

/** This browser's role on a shared server: {role, manage_models, reason, max_keep_alive}. */
export function getMe() {
  return request("api/me");
}

/** The admin lets guests chat with cloud models, or stops them: {guests}. */
export function setGuestCloudModels(guests) {
  return sendJson("api/cloud-models", "PUT", { guests });
}

export function deleteModel(name, host = "") {
  return sendJson("api/models", "DELETE", host ? { model: name, host } : { model: name });
}

export function getPulls() {
  return request("api/pulls");
}

export function unloadModel(name, host = "") {
  return request("api/unload", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(host ? { model: name, host } : { model: name }),
  });
}

/** Load a model now (the page calls it on a pick); answers once Ollama has it. */
export function loadModel(name, conversation, host = "") {
  const body = conversation ? { model: name, conversation } : { model: name };
  if (host) body.host = host;
  return request("api/load", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

export function showModel(name, host = "") {
  const on = host ? `&host=${encodeURIComponent(host)}` : "";
  return request(`api/show?model=${encodeURIComponent(name)}${on}`);
}

export function search(text) {
  return request(`api/search?q=${encodeURIComponent(text)}`);
}
