// One WebSocket to /ws that comes back by itself: exponential backoff with jitter,
// reset once a connection opens. Frames are JSON both ways.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;

export function socketUrl(path = "ws") {
  const target = new URL(path, document.baseURI);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  return target.toString();
}

export class ChatSocket {
  /**
   * @param {{onFrame: Function, onOpen: Function, onClose: Function}} handlers
   *   (onClose gets the reason the server gave for closing, or "")
   */
  constructor(handlers, url = socketUrl()) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.delay = FIRST_DELAY_MS;
    this.timer = 0;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = 0;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.delay = FIRST_DELAY_MS;
      this.handlers.onOpen();
    });
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") this.handlers.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.handlers.onClose(event.reason || "");
      this.scheduleReconnect();
    });
    // An "error" event is always followed by "close": reconnecting happens there.
  }

  scheduleReconnect() {
    if (this.timer) return;
    const wait = this.delay * (0.8 + Math.random() * 0.4);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  /** Send one frame; false when the socket is not open (nothing is queued). */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}

/** One listener for every frame: each type goes to the table that names it (the first). */
export function frameRouter(...tables) {
  return (frame) => {
    const table = tables.find((handlers) => Object.hasOwn(handlers, frame.type));
    table?.[frame.type](frame);
  };
}
