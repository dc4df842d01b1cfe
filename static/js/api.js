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

async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(url(path), {
      credentials: "same-origin",
      ...init,
      headers: { Accept: "application/json", ...(init.headers || {}) },
    });
  } catch {
    throw new ApiError("The WebChat server does not answer.", 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body.error === "string") {
    throw new ApiError(body.error, response.status);
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

export function getHistory() {
  return request("api/history");
}

export function unloadModel(name) {
  return request("api/unload", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: name }),
  });
}
